# Bi-exponential decline on the log scale, normal errors, no BLQ: a simulated study fitted by R nlme (ML),
# recorded as the outside oracle of tests/kinetics/popfit/test_popfit_biexp_log_nlme.py (issue 17).
# Run: Rscript biexp_log_nlme.R  (writes biexp_log.csv and biexp_log_nlme.json in the working folder)
library(nlme)
set.seed(20261204)
n_subjects <- 24
times <- c(0.25, 0.5, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24)
truth <- c(A1 = 10, lrc1 = 0, A2 = 2, lrc2 = log(0.1))
sd_re <- c(A1 = 2, lrc1 = 0.3, A2 = 0.4, lrc2 = 0.25)
sigma <- 0.1
rows <- list()
for (i in seq_len(n_subjects)) {
  b <- rnorm(4, 0, sd_re)
  p <- truth + b
  conc <- (p[["A1"]] * exp(-exp(p[["lrc1"]]) * times) + p[["A2"]] * exp(-exp(p[["lrc2"]]) * times)) *
    exp(rnorm(length(times), 0, sigma))
  rows[[i]] <- data.frame(subject_id = sprintf("S%02d", i), time = times, conc = conc)
}
d <- do.call(rbind, rows)
write.csv(d, "biexp_log.csv", row.names = FALSE, quote = FALSE)
d <- read.csv("biexp_log.csv")
d$lconc <- log(d$conc)
d <- groupedData(lconc ~ time | subject_id, data = d)
fit <- nlme(lconc ~ log(A1 * exp(-exp(lrc1) * time) + A2 * exp(-exp(lrc2) * time)),
            data = d, fixed = A1 + lrc1 + A2 + lrc2 ~ 1,
            random = pdDiag(A1 + lrc1 + A2 + lrc2 ~ 1),
            start = c(A1 = 10, lrc1 = 0, A2 = 2, lrc2 = log(0.1)), method = "ML",
            control = nlmeControl(tolerance = 1e-6, maxIter = 200))
print(summary(fit))
sds <- as.numeric(VarCorr(fit)[1:4, "StdDev"])
names(sds) <- c("A1", "lrc1", "A2", "lrc2")
se <- summary(fit)$tTable[, "Std.Error"]
out <- sprintf(paste0('{\n  "r_version": "%s",\n  "nlme_version": "%s",\n  "call": "%s",\n',
  '  "fixed_effects": {%s},\n  "fixed_effects_se": {%s},\n  "random_effects_sd": {%s},\n',
  '  "residual_sd": %.10g,\n  "log_likelihood": %.10g,\n  "iterations": %d\n}\n'),
  R.version.string, as.character(packageVersion("nlme")),
  gsub('"', "'", paste(deparse(fit$call, width.cutoff = 500), collapse = " ")),
  paste(sprintf('"%s": %.10g', names(fixef(fit)), fixef(fit)), collapse = ", "),
  paste(sprintf('"%s": %.10g', names(se), se), collapse = ", "),
  paste(sprintf('"%s": %.10g', names(sds), sds), collapse = ", "),
  fit$sigma, as.numeric(logLik(fit)), fit$numIter)
cat(out, file = "biexp_log_nlme.json")
