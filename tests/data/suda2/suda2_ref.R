# Reference SUDA2 outputs from sdcMicro (testdata and free1)
suppressMessages(library(sdcMicro))
cat("sdcMicro version:", as.character(packageVersion("sdcMicro")), "\n")
f17 <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))

write_keys <- function(df, path) {
  out <- as.data.frame(lapply(df, function(x) ifelse(is.na(x), "", as.character(x))),
                       stringsAsFactors = FALSE)
  write.csv(out, path, row.names = FALSE, quote = FALSE, na = "")
}

run_one <- function(dat, keys, name) {
  cat("\n==== ", name, " keys:", paste(keys, collapse = ","), " n=", nrow(dat), "\n")
  write_keys(dat[, keys, drop = FALSE], file.path("/tmp/sdcref", paste0(name, "_keys.csv")))
  t <- system.time(res <- suda2(dat, variables = keys, missing = -999, DisFraction = 0.01))
  cat("suda2 elapsed:", t[["elapsed"]], "s\n")
  str(res)
  print(res)
  out <- data.frame(row = seq_len(nrow(dat)), score = f17(res$score), dis_score = f17(res$disScore))
  write.csv(out, file.path("/tmp/sdcref", paste0("suda2_", name, ".csv")), row.names = FALSE, quote = FALSE)
  cp <- as.data.frame(res$contributionPercent)
  cpo <- data.frame(row = seq_len(nrow(dat)), lapply(cp, f17), check.names = FALSE)
  write.csv(cpo, file.path("/tmp/sdcref", paste0("suda2_", name, "_contrib.csv")), row.names = FALSE, quote = FALSE)
  ac <- res$attribute_contributions
  ac$contribution <- f17(ac$contribution)
  write.csv(ac, file.path("/tmp/sdcref", paste0("suda2_", name, "_attr_contrib.csv")), row.names = FALSE, quote = FALSE)
  al <- res$attribute_level_contributions
  al$contribution <- f17(al$contribution)
  write.csv(al, file.path("/tmp/sdcref", paste0("suda2_", name, "_attr_level_contrib.csv")), row.names = FALSE, quote = FALSE)
  # also the non-default (IHSN) score variant, for reference
  res2 <- suda2(dat, variables = keys, missing = -999, DisFraction = 0.01, original_scores = FALSE)
  out2 <- data.frame(row = seq_len(nrow(dat)), score = f17(res2$score), dis_score = f17(res2$disScore))
  write.csv(out2, file.path("/tmp/sdcref", paste0("suda2_", name, "_ihsn_scores.csv")), row.names = FALSE, quote = FALSE)
  cat("summary score:\n"); print(summary(res$score)); cat("n score>0:", sum(res$score > 0), "\n")
  cat("summary disScore:\n"); print(summary(res$disScore))
  cat("sum score:", sprintf("%.17g", sum(res$score)), " sum disScore:", sprintf("%.17g", sum(res$disScore)), "\n")
  invisible(res)
}

data(testdata)
keys_t <- c("urbrur","roof","walls","water","electcon","relat","sex")
r1 <- run_one(testdata, keys_t, "testdata")

data(free1)
free1 <- as.data.frame(free1)
keys_f <- c("REGION","SEX","AGE","MARSTAT","KINDPERS")
stopifnot(all(keys_f %in% colnames(free1)))
r2 <- run_one(free1, keys_f, "free1")
