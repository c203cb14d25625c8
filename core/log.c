/* core/log.c - stderr or syslog, chosen once */
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "core/log.h"

int log_level = LOG_LVL_INFO;
static bool use_syslog;
static const char *log_ident = "cfsbox";

void log_open(const char *ident, bool to_syslog)
{
	log_ident = ident;
	use_syslog = to_syslog;
	if (to_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_msg(int lvl, const char *tag, const char *fmt, ...)
{
	static const char *names[8] = { "emerg", "alert",  "crit", "err",
		                        "warn",  "notice", "info", "debug" };
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (use_syslog) {
		syslog(lvl, "[%s] %s: %s", tag, names[lvl & 7], text);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s[%d]: [%s] %s: %s\n", when, ts.tv_nsec / 1000000,
		        log_ident, (int)getpid(), tag, names[lvl & 7], text);
	}
}

bool log_ratelimit(double *last, double interval_sec)
{
	struct timespec ts;
	double now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	if (*last != 0 && now - *last < interval_sec)
		return false;
	*last = now;
	return true;
}
