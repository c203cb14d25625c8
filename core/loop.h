/* core/loop.h - include this, never <ev.h> directly.
 *
 * libev is built once by build.sh into .deps/ (ev.c compiled as a
 * static library with EV_STANDALONE, epoll, eventfd and signalfd); the
 * header here only declares the API, which does not depend on those
 * build-time choices.  Loops are passed explicitly (EV_MULTIPLICITY):
 * no EV_DEFAULT outside applets/.
 */
#ifndef CORE_LOOP_H
#define CORE_LOOP_H

#include "ev.h"

#endif /* CORE_LOOP_H */
