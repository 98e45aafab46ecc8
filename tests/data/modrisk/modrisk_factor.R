suppressMessages(library(sdcMicro))
f17 <- function(x) sprintf("%.17g", x)
data(testdata)
keys <- c("urbrur","roof","walls","water","electcon","relat","sex")
x <- testdata[, c(keys,"sampling_weight")]
for (k in keys) x[[k]] <- as.factor(x[[k]])
for (form in c("~urbrur + roof + walls + water + electcon + relat + sex", "~urbrur*roof + walls + water + electcon + relat + sex", "~urbrur*water + roof*walls + water*sex + electcon + relat")) {
  m <- modRisk(x, method = "default", weights = "sampling_weight", formulaM = as.formula(form), bound = Inf)
  cat(form, "gr1", f17(m$gr1), "gr2", f17(m$gr2), "\n")
}
m <- modRisk(x, method = "default", weights = "sampling_weight", formulaM = ~urbrur + roof + walls + water + electcon + relat + sex, bound = 5)
cat("bound5 gr1", f17(m$gr1), "gr2", f17(m$gr2), "\n")
data(testdata2)
x2 <- testdata2; for (k in c("sex","water","roof")) x2[[k]] <- as.factor(x2[[k]])
me <- modRisk(x2, method = "default", formulaM = ~sex + water + roof, weights = "sampling_weight")
cat("testdata2 factor gr1", f17(me$gr1), " gr2", f17(me$gr2), "\n")
