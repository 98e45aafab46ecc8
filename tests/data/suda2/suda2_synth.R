# Synthetic checks: missing values (-999 and NA), triplicates, constant column, 2-key padding
suppressMessages(library(sdcMicro))
f17 <- function(x) sprintf("%.17g", x)
set.seed(42)
n <- 400
d <- data.frame(a = sample(1:4, n, TRUE), b = sample(1:3, n, TRUE), c = sample(1:5, n, TRUE),
                d = sample(1:2, n, TRUE), e = sample(1:6, n, TRUE, prob = c(.5,.2,.1,.1,.05,.05)))
miss <- matrix(runif(n * 5) < 0.08, n, 5)
d[miss] <- -999
d$b[1:10] <- NA          # NA is recoded to `missing` inside suda2
d <- rbind(d, d[rep(20, 3), ], d[rep(21, 1), ])   # a quadruple and a pair
write.csv(d, "/tmp/sdcref/synth_keys.csv", row.names = FALSE, quote = FALSE, na = "")
for (nm in c("synth", "synth_const", "synth_2keys")) {
  dd <- d
  keys <- colnames(d)
  if (nm == "synth_const") { dd$f <- 7L; keys <- c(keys, "f") }
  if (nm == "synth_2keys") keys <- c("a", "c")
  r <- suppressWarnings(suda2(dd, variables = keys, missing = -999, DisFraction = 0.01))
  write.csv(data.frame(row = seq_len(nrow(dd)), score = f17(r$score), dis_score = f17(r$disScore)),
            paste0("/tmp/sdcref/suda2_", nm, ".csv"), row.names = FALSE, quote = FALSE)
  cp <- as.data.frame(r$contributionPercent)
  write.csv(data.frame(row = seq_len(nrow(dd)), lapply(cp, f17)), paste0("/tmp/sdcref/suda2_", nm, "_contrib.csv"), row.names = FALSE, quote = FALSE)
  r2 <- suppressWarnings(suda2(dd, variables = keys, missing = -999, DisFraction = 0.01, original_scores = FALSE))
  write.csv(data.frame(row = seq_len(nrow(dd)), score = f17(r2$score), dis_score = f17(r2$disScore)),
            paste0("/tmp/sdcref/suda2_", nm, "_ihsn_scores.csv"), row.names = FALSE, quote = FALSE)
  write.csv(dd[, keys, drop = FALSE], paste0("/tmp/sdcref/", nm, "_keys.csv"), row.names = FALSE, quote = FALSE, na = "")
  cat(nm, ": n score>0 =", sum(r$score > 0), "\n")
}
