/* applets/cli.h - what every applet uses to talk to people.
 *
 * Messages go to stderr as "<applet>: <message>".  Exit status: 0 ok,
 * 1 the operation failed, 2 usage error, 127 unknown applet.
 */
#ifndef APPLETS_CLI_H
#define APPLETS_CLI_H

#include <stdnoreturn.h>

extern const char *cli_name; /* the running applet's name */

void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void cli_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* print usage to stderr and return 2, for "return cli_usage(usage);" */
int cli_usage(const char *usage);

/* The root prefix of every path (--root DIR, else $CFS_ROOT, else "").
 * cli_root_opt() records --root; cli_root() returns the prefix in force. */
void cli_root_set(const char *dir);
const char *cli_root(void);
/* "<root><suffix>" into dst; dies if it does not fit */
void cli_path(char *dst, unsigned long size, const char *suffix);

#endif /* APPLETS_CLI_H */
