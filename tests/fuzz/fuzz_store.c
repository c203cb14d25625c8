/* tests/fuzz/fuzz_store.c - libFuzzer target for the store's decoders of
 * outside bytes: op_decode() (log entries from peers and from disk) and
 * tree_decode() (snapshots from the leader and from disk).  What decodes
 * must re-encode and apply without crashing; the first input byte picks
 * the decoder.
 */
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"
#include "store/op.h"
#include "store/rules.h"
#include "store/tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *p, size_t n)
{
	struct buf b = { 0 };
	struct tree *t;
	struct op op;

	if (n < 1)
		return 0;
	if (p[0] & 1) {
		if (op_decode(p + 1, n - 1, &op) == 0) {
			struct rules *r = rules_new(NULL);

			op_encode(&op, &b);
			(void)rules_check(r, &op);
			(void)rules_apply(r, &op);
			rules_free(r);
		}
	} else if (tree_decode(p + 1, n - 1, &t) == 0) {
		struct rules *r;
		uint8_t dg[TREE_DIGEST_SIZE];

		tree_digest(t, dg);
		(void)tree_encode(t, &b);
		r = rules_new(t); /* takes the tree: rebuilds the VM list */
		rules_free(r);
	}
	buf_free(&b);
	return 0;
}
