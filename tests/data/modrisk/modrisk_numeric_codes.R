# modRisk reference on testdata (method "default", main-effects log-linear model over the 7 keys)
suppressMessages(library(sdcMicro))
options(digits = 17)
f17 <- function(x) sprintf("%.17g", x)
data(testdata)
keys <- c("urbrur","roof","walls","water","electcon","relat","sex")
form <- ~urbrur + roof + walls + water + electcon + relat + sex
sdc <- createSdcObj(testdata, keyVars = keys, weightVar = "sampling_weight")
sdc <- modRisk(sdc, method = "default", formulaM = form, bound = Inf)
m <- get.sdcMicroObj(sdc, "risk")$model
cat("== print(model) (print.modrisk writes to stderr via message()):\n")
print(m)
cat("== full precision\n")
cat("gr1", f17(m$gr1), "\n")
cat("gr2", f17(m$gr2), "\n")
cat("gr1perc", f17(m$gr1perc), "\n")
cat("gr2perc", f17(m$gr2perc), "\n")
cat("method", m$method, "\n")
cat("model", deparse(m$model), "\n")
cat("n_fitted_cells", length(m$fitted), " sum_fitted", f17(sum(m$fitted)), "\n")
cat("n_inclProb (cells kept: 0<counts<=bound, Fk>0)", length(m$inclProb), "\n")
# same via the data.frame method (should be identical)
x <- testdata[, c(keys, "sampling_weight")]
m2 <- modRisk(x, method = "default", weights = "sampling_weight", formulaM = form, bound = Inf)
cat("data.frame-method gr1", f17(m2$gr1), " gr2", f17(m2$gr2), "\n")
# the other methods, for reference
for (meth in c("CE", "PML", "weightedLLM", "IPF")) {
  mm <- tryCatch(modRisk(x, method = meth, weights = "sampling_weight", formulaM = form, bound = Inf),
                 error = function(e) e)
  if (inherits(mm, "error")) cat(meth, "ERROR:", conditionMessage(mm), "\n")
  else cat(meth, "gr1", f17(mm$gr1), " gr2", f17(mm$gr2), "\n")
}
# help-page example (testdata2, ~ sex + water + roof), data.frame method
data(testdata2)
me <- modRisk(testdata2, method = "default", formulaM = ~sex + water + roof, weights = "sampling_weight")
cat("help-example testdata2 ~sex+water+roof default: gr1", f17(me$gr1), " gr2", f17(me$gr2), "\n")
# bound = 5 variant on testdata
m5 <- modRisk(x, method = "default", weights = "sampling_weight", formulaM = form, bound = 5)
cat("testdata bound=5: gr1", f17(m5$gr1), " gr2", f17(m5$gr2), "\n")
# fitted cell values (lambda) of the default model, full precision, for cell-level comparison
fit <- m$fitted
write.csv(data.frame(cell = names(fit), fitted = f17(as.numeric(fit))),
          "/tmp/sdcref/modrisk_testdata_fitted.csv", row.names = FALSE, quote = FALSE)
sessionInfo()
