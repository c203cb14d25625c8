/* tests/fuzz/fuzz_journal.c - arbitrary bytes as a journal file, through
 * the offline dump path (one file, and a state directory) and through
 * journal_open() recovery (which cuts the file).  Must never crash, leak
 * or read out of bounds.
 *
 * Input: byte 0 selects what to do, the rest is the file.
 *	bit 0: recompute the header and record checksums first, so that the
 *	       fuzzer gets past them and exercises the structure checks
 *	bit 1: also run journal_open() on a directory holding the file as
 *	       journal.1 (slower: it fsyncs and may cut)
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "core/crc32c.h"
#include "core/endian.h"
#include "core/log.h"
#include "core/util.h"
#include "store/journal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[256];
static volatile size_t sink;

static int on_snapshot(void *ctx, uint64_t index, uint64_t term, const uint8_t *blob, size_t len)
{
	size_t i, *sum = ctx;

	(void)index;
	(void)term;
	for (i = 0; i < len; i++)
		*sum += blob[i];
	return 0;
}

static int on_record(void *ctx, const struct jrec *r)
{
	size_t i, *sum = ctx;

	/* touch every byte so ASan sees any bad pointer */
	for (i = 0; i < r->len; i++)
		*sum += r->p[i];
	*sum += (size_t)r->index + (size_t)r->type;
	return 0;
}

static const struct journal_cb cb = { .snapshot = on_snapshot, .record = on_record };

static void fix_crcs(uint8_t *p, size_t n)
{
	uint32_t salt, crc, len;
	size_t off = JOURNAL_HDR_SIZE;

	if (n < JOURNAL_HDR_SIZE)
		return;
	put_le32(p + 36, crc32c(0, p, 36));
	salt = get_le32(p + 32);
	while (n - off >= JREC_HDR_SIZE) {
		len = get_le32(p + off);
		if (len > JREC_PAYLOAD_MAX || n - off - JREC_HDR_SIZE < len)
			break;
		crc = crc32c(salt, p + off, 24);
		put_le32(p + off + 24, crc32c(crc, p + off + JREC_HDR_SIZE, len));
		off += JREC_HDR_SIZE + len;
	}
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	if (!f)
		abort();
	if (n && fwrite(p, 1, n, f) != n)
		abort();
	fclose(f);
}

static void clean_dir(const char *dir)
{
	char p[512];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char file[300], dir[300], j1[320];
	struct journal *j = NULL;
	size_t sum = 0;
	uint8_t *p;
	int mode;

	if (!root[0]) {
		const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

		snprintf(root, sizeof(root), "%s/fuzz_journal.%d", base, (int)getpid());
		mkdir(root, 0700);
		log_level = 0; /* the warnings about cut tails are expected */
	}
	if (size < 1)
		return 0;
	mode = data[0];
	size--;
	p = xmalloc(size ? size : 1);
	memcpy(p, data + 1, size);
	if (mode & 1)
		fix_crcs(p, size);

	snprintf(file, sizeof(file), "%s/journal.1", root);
	write_file(file, p, size);
	journal_dump(file, &cb, &sum);
	unlink(file);

	snprintf(dir, sizeof(dir), "%s/d", root);
	mkdir(dir, 0700);
	snprintf(j1, sizeof(j1), "%s/journal.1", dir);
	write_file(j1, p, size);
	journal_dump(dir, &cb, &sum);
	if (mode & 2) {
		if (journal_open(dir, &cb, &sum, &j) == 0) {
			struct jrec r = { JREC_ENTRY, journal_last_index(j) + 1, 1,
				          (const uint8_t *)"x", 1 };

			if (journal_append(j, &r) != 0)
				abort(); /* after recovery, the log continues */
		}
		journal_close(j);
	}
	clean_dir(dir);
	free(p);
	sink = sum;
	return 0;
}
