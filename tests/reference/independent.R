# Independent check of prepare + the headline estimators, straight from the raw demo files.
#
# Unlike retention.R / duration.R (which read the intervals the package prepared), this script
# applies the follow-up definitions itself (docs/methods.md): censoring at the as-of date,
# exclusion of episodes starting after it, the counting-process split at contract switches
# strictly inside the observed follow-up, municipality codes harmonised to 2024 by a hand-made
# table. Its output is committed; tests/test_results.py compares `build_results` with it.
#
#   Rscript tests/reference/independent.R     (from the project root; needs r-cran-survival)
suppressMessages(library(survival))
dir <- "data/raw/synthetic"
out <- "tests/reference/results/independent_demo.csv"
ep0 <- read.csv(file.path(dir, "episodes.csv"), colClasses = "character", encoding = "UTF-8")
ev <- read.csv(file.path(dir, "events.csv"), colClasses = "character", encoding = "UTF-8")
parse_date <- function(x) { x[x == ""] <- NA; as.Date(x) }
contract <- function(x) {
  x <- tolower(x)
  ifelse(x %in% c("f", "fastlønn", "fastlonn", "alis-fastlønn"), "fastlønn",
         ifelse(x %in% c("n", "næring", "naering", "privat", "selvstendig næringsdrivende"), "næring", NA))
}
# 2018-2023 codes and names in the demo -> 2024 code (SSB: 2020 and 2024 reforms)
to_2024 <- c("1805" = "1806", "1849" = "1875", "1902" = "5501", "1903" = "5503", "1913" = "5512",
             "1922" = "5520", "1924" = "5524", "1931" = "5530", "2003" = "5607", "2004" = "5603",
             "2012" = "5601", "2021" = "5610", "2025" = "5628", "2030" = "5605", "5402" = "5503",
             "5406" = "5603", "5412" = "5512", "5416" = "5520", "5418" = "5524", "5421" = "5530",
             "Alta" = "5601", "Harstad" = "5503", "Vestvågøy" = "1860")
ep0$start <- parse_date(ep0$start_date)
ep0$end <- parse_date(ep0$end_date)
ep0$cohort <- contract(ep0$contract_type)
stopifnot(!anyNA(ep0$cohort), !anyNA(ep0$start))
ep0$muni <- ifelse(ep0$municipality %in% names(to_2024), to_2024[ep0$municipality], ep0$municipality)
stopifnot(all(grepl("^[0-9]{4}$", ep0$muni)))
ev$d <- parse_date(ev$date)

rows <- list()
emit <- function(as_of, quantity, cohort, time, value)
  rows[[length(rows) + 1]] <<- data.frame(as_of = as_of, quantity = quantity, cohort = cohort,
                                          time = time, value = value)
for (as_of_text in c("2024-12-31", "2022-06-30")) {
  as_of <- as.Date(as_of_text)
  ep <- ep0[ep0$start < as_of, ]
  emit(as_of_text, "excluded", "", NA, sum(ep0$start >= as_of))
  ep$exit <- as.integer(!is.na(ep$end) & ep$end <= as_of)
  ep$stop <- as.Date(ifelse(ep$exit == 1, format(ep$end), format(as_of)))
  ep$time <- as.numeric(ep$stop - ep$start) / 365.25
  pieces <- list()
  for (i in seq_len(nrow(ep))) {
    e <- ep[i, ]
    sw <- ev[ev$person_id == e$person_id & ev$event == "contract_switch" & ev$d > e$start & ev$d < e$stop, ]
    sw <- sw[order(sw$d), ]
    cuts <- as.Date(character()); types <- e$cohort; current <- e$cohort
    for (k in seq_len(nrow(sw))) {
      new_type <- contract(sw$new_contract_type[k])
      if (new_type != current) { cuts <- c(cuts, sw$d[k]); types <- c(types, new_type); current <- new_type }
    }
    bounds <- c(e$start, cuts, e$stop)
    for (k in seq_along(types))
      pieces[[length(pieces) + 1]] <- data.frame(
        muni = e$muni, type = types[k],
        t0 = as.numeric(bounds[k] - e$start) / 365.25, t1 = as.numeric(bounds[k + 1] - e$start) / 365.25,
        d = if (k == length(types)) e$exit else 0L)
  }
  iv <- do.call(rbind, pieces)
  fit <- survfit(Surv(time, exit) ~ cohort, data = ep, conf.type = "log-log")
  s <- summary(fit, times = c(1, 2, 3, 5))  # times beyond the follow-up are dropped (no estimate)
  cohort_of <- sub("cohort=", "", as.character(s$strata))
  for (j in seq_along(s$time)) {
    emit(as_of_text, "km_survival", cohort_of[j], s$time[j], s$surv[j])
    emit(as_of_text, "km_lower", cohort_of[j], s$time[j], s$lower[j])
    emit(as_of_text, "km_upper", cohort_of[j], s$time[j], s$upper[j])
    emit(as_of_text, "km_at_risk", cohort_of[j], s$time[j], s$n.risk[j])
  }
  emit(as_of_text, "logrank", "", NA, survdiff(Surv(time, exit) ~ cohort, data = ep)$chisq)
  table <- summary(fit, rmean = 5)$table
  for (g in c("fastlønn", "næring")) {
    emit(as_of_text, "rmst", g, 5, table[paste0("cohort=", g), "rmean"])
    emit(as_of_text, "rmst_se", g, 5, table[paste0("cohort=", g), "se(rmean)"])
  }
  cox <- coxph(Surv(t0, t1, d) ~ I(type == "næring"), data = iv, cluster = muni, ties = "efron")
  emit(as_of_text, "cox_coef", "næring", NA, unname(coef(cox)))
  emit(as_of_text, "cox_se", "næring", NA, sqrt(cox$naive.var[1, 1]))
  emit(as_of_text, "cox_robust_se", "næring", NA, sqrt(cox$var[1, 1]))
  for (g in c("fastlønn", "næring")) {
    exits <- sum(iv$d[iv$type == g]); years <- sum(iv$t1[iv$type == g] - iv$t0[iv$type == g])
    emit(as_of_text, "exits", g, NA, exits)
    emit(as_of_text, "person_years", g, NA, years)
    emit(as_of_text, "rate_lower", g, NA, 100 * poisson.test(exits, years)$conf.int[1])
    emit(as_of_text, "rate_upper", g, NA, 100 * poisson.test(exits, years)$conf.int[2])
  }
}
write.csv(do.call(rbind, rows), out, row.names = FALSE, fileEncoding = "UTF-8")
