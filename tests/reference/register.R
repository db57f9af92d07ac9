# Reference values for the register comparisons (alis_research.analysis.comparison), with R's survival.
#
#     .venv/bin/python tests/reference/export_register.py   # writes data/register/contracts.csv
#     Rscript tests/reference/register.R                     # from the project root
#
# On the contracts of data/register/contracts.csv (Abelsen window, 120 municipalities of the
# synthetic national extract) this writes
#   results/register_cox.csv     coxph(Surv(duration, exit) ~ sex + age + list size/100 + size class,
#                                ties = "efron", cluster = municipality_code): coef, se, robust se
#   results/register_km_size.csv survfit per size class and overall, conf.type = "log-log":
#                                n, events, median and its interval
# Term names and reference levels are those of alis_research.analysis.duration (first level present).
suppressPackageStartupMessages(library(survival))

here <- "tests/reference"
contracts <- read.csv(file.path(here, "data", "register", "contracts.csv"), stringsAsFactors = FALSE,
                      colClasses = c(municipality_code = "character"), encoding = "UTF-8")
size_levels <- c("<2000", "2000-4999", "5000-9999", "10000-49999", ">=50000")
present <- size_levels[size_levels %in% contracts$size_class]

X <- cbind(`sex=M` = as.numeric(contracts$sex == "M"),
           age_at_start = contracts$age_at_start,
           list_size_100 = contracts$list_size_100)
for (level in present[-1]) {
  X <- cbind(X, as.numeric(contracts$size_class == level))
  colnames(X)[ncol(X)] <- paste0("size_class=", level)
}
fit <- coxph(Surv(contracts$duration, contracts$exit) ~ X, ties = "efron",
             cluster = contracts$municipality_code)
cox <- data.frame(term = colnames(X), coef = unname(coef(fit)), se = sqrt(diag(fit$naive.var)),
                  robust_se = sqrt(diag(fit$var)), check.names = FALSE)

write_csv <- function(frame, path) {
  tmp <- paste0(path, ".tmp")
  write.csv(frame, tmp, row.names = FALSE, fileEncoding = "UTF-8", na = "")
  invisible(file.rename(tmp, path))
}
options(digits = 17)
dir.create(file.path(here, "results"), showWarnings = FALSE)
write_csv(format(cox, digits = 17), file.path(here, "results", "register_cox.csv"))

km_row <- function(frame, label) {
  s <- survfit(Surv(duration, exit) ~ 1, data = frame, conf.type = "log-log")
  q <- quantile(s, probs = 0.5)
  data.frame(size_class = label, n = nrow(frame), events = sum(frame$exit),
             median = unname(q$quantile), ci_lower = unname(q$lower), ci_upper = unname(q$upper))
}
rows <- lapply(present, function(level) km_row(contracts[contracts$size_class == level, ], level))
rows[[length(rows) + 1]] <- km_row(contracts, "all")
write_csv(format(do.call(rbind, rows), digits = 17), file.path(here, "results", "register_km_size.csv"))
cat("wrote", file.path(here, "results", "register_cox.csv"), "and register_km_size.csv:",
    nrow(contracts), "contracts\n")
