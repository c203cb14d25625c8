/* tests/fuzz/fuzz_ipc.c - libFuzzer target: the IPC request decoder
 * SPDX-License-Identifier: MIT
 *
 * Feeds arbitrary bytes to ipc_message_decode() as a stream of requests
 * (what a local client can send to cfsd) and checks what a decoded
 * request promises: NUL-terminated paths within CFS_PATH_MAX, data inside
 * the input, data only on PUT, WRITE and LOG.
 */
#include <stdlib.h>
#include <string.h>
#include "net/ipc.h"

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	static struct ipc_req req;
	size_t used;
	int rc;

	while (n) {
		rc = ipc_message_decode(p, n, &req, &used);
		if (rc == -EAGAIN || rc == -EMSGSIZE)
			break;
		if (rc == 0) {
			if (strlen(req.path) >= sizeof(req.path) ||
			    strlen(req.to) >= sizeof(req.to))
				abort();
			if (req.len && (req.data < p || req.data + req.len > p + used))
				abort();
			if (req.len && req.op != IPC_OP_PUT && req.op != IPC_OP_WRITE &&
			    req.op != IPC_OP_LOG)
				abort();
		}
		if (!used || used > n)
			abort();
		p += used;
		n -= used;
	}
	return 0;
}
