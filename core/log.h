/* core/log.h - how code outside applets/ reports what happened.
 *
 * Every .c file that logs names itself before including this header:
 *
 *	#define LOG_TAG "journal"
 *	#include "core/log.h"
 *
 * A message starts with the object it is about, is lower case, has no
 * trailing period, and spells an error code with cfs_strerror().
 * cfsd logs to stderr in the foreground and to syslog once daemonized;
 * log_open() makes that choice once.  Decoders never log.
 */
#ifndef CORE_LOG_H
#define CORE_LOG_H

#include <stdbool.h>

#ifndef LOG_TAG
#define LOG_TAG "cfs"
#endif

enum {
	LOG_LVL_ERR = 3,
	LOG_LVL_WARN = 4,
	LOG_LVL_INFO = 6,
	LOG_LVL_DEBUG = 7,
};

extern int log_level; /* messages above this level are dropped */

/* to_syslog: use syslog(3) with ident; else stderr with a time stamp. */
void log_open(const char *ident, bool to_syslog);
void log_msg(int lvl, const char *tag, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* true at most once per interval_sec per call site (state passed in) */
bool log_ratelimit(double *last, double interval_sec);

#define log_at(lvl, ...)                                      \
	do {                                                  \
		if ((lvl) <= log_level)                       \
			log_msg((lvl), LOG_TAG, __VA_ARGS__); \
	} while (0)
#define log_err(...)   log_at(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)  log_at(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)  log_at(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_at(LOG_LVL_DEBUG, __VA_ARGS__)

/* log at most once every sec seconds from this call site */
#define log_every(sec, lvl, ...)                            \
	do {                                                \
		static double log_every_last_;              \
		if (log_ratelimit(&log_every_last_, (sec))) \
			log_at((lvl), __VA_ARGS__);         \
	} while (0)

#endif /* CORE_LOG_H */
