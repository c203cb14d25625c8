/* tests/unit/test_clog.c - store/clog: order, budget, JSON-safe text, wire */
#include <errno.h>
#include <stdlib.h>
#include "core/buf.h"
#include "core/endian.h"
#include "core/json.h"
#include "core/util.h"
#include "store/clog.h"
#include "store/vfiles.h"
#include "tests/t.h"

/* an entry with the usual strings */
static struct clog_entry ent(uint32_t time, const char *node, uint32_t uid, const char *msg)
{
	struct clog_entry e = { uid, time, 4242, 6, node, "root@pam", "pvedaemon", msg };

	return e;
}

/* the newest entry of c (there must be one) */
static struct vfiles_log newest(const struct clog *c)
{
	struct vfiles_log l = { 0 };

	clog_newest(c, &l, 1);
	return l;
}

/* What clog_add() stores for raw with node "pve1", ident "root@pam", tag
 * "pvedaemon"; a static copy. */
static const char *safe(const char *raw)
{
	static char out[CLOG_ENTRY_MAX + 1];
	struct clog *c = clog_new();
	struct clog_entry e = ent(1, "pve1", 1, raw);
	struct vfiles_log l;

	out[0] = 0;
	if (clog_add(c, &e) == 0 && clog_newest(c, &l, 1) == 1)
		snprintf(out, sizeof(out), "%s", l.msg);
	else
		snprintf(out, sizeof(out), "(refused)");
	clog_free(c);
	return out;
}

/* the time of the oldest entry of c, 0xdead when c is empty */
static uint32_t oldest_time(const struct clog *c)
{
	size_t n = clog_count(c);
	struct vfiles_log *l = calloc(n + 1, sizeof(*l));
	uint32_t t = 0xdead;

	if (n && clog_newest(c, l, n) == n)
		t = l[n - 1].time;
	free(l);
	return t;
}

/* a string of n copies of ch followed by tail, malloc'ed */
static char *rep(char ch, size_t n, const char *tail)
{
	char *s = malloc(n + strlen(tail) + 1);

	memset(s, ch, n);
	strcpy(s + n, tail);
	return s;
}

static void test_add_dup(void)
{
	struct clog *c = clog_new();
	struct clog_entry e = ent(100, "pve1", 7, "first");

	T_EQ_INT(clog_count(c), 0);
	T_EQ_INT(clog_add(c, &e), 0);
	T_EQ_INT(clog_count(c), 1);
	T_EQ_INT(clog_add(c, &e), -EEXIST);
	e.msg = "second";
	e.pid = 1;
	T_EQ_INT(clog_add(c, &e), -EEXIST); /* same (time, node, uid): nothing changes */
	T_EQ_INT(clog_count(c), 1);
	T_EQ_STR(newest(c).msg, "first");
	T_EQ_INT(newest(c).pid, 4242);
	e = ent(100, "pve1", 8, "other uid");
	T_EQ_INT(clog_add(c, &e), 0);
	e = ent(100, "pve2", 7, "other node");
	T_EQ_INT(clog_add(c, &e), 0);
	e = ent(101, "pve1", 7, "other time");
	T_EQ_INT(clog_add(c, &e), 0);
	T_EQ_INT(clog_count(c), 4);
	/* the node is compared cleaned: a"b is stored as a_b */
	e = ent(5, "a\"b", 1, "x");
	T_EQ_INT(clog_add(c, &e), 0);
	e = ent(5, "a_b", 1, "y");
	T_EQ_INT(clog_add(c, &e), -EEXIST);
	T_EQ_INT(clog_count(c), 5);
	clog_free(c);
	clog_free(NULL);
}

static void test_einval(void)
{
	struct clog *c = clog_new();
	struct clog_entry e;

#define BAD(field_set, want)                     \
	do {                                     \
		e = ent(1, "pve1", 1, "m");      \
		field_set;                       \
		T_EQ_INT(clog_add(c, &e), want); \
	} while (0)
	BAD(e.pri = 8, -EINVAL);
	BAD(e.pri = 255, -EINVAL);
	BAD(e.node = NULL, -EINVAL);
	BAD(e.node = "", -EINVAL);
	BAD(e.ident = NULL, -EINVAL);
	BAD(e.tag = NULL, -EINVAL);
	BAD(e.msg = NULL, -EINVAL);
	T_EQ_INT(clog_count(c), 0);
	T_EQ_INT(clog_add(c, NULL), -EINVAL);
	BAD((e.pri = 7, e.uid = 1), 0);
	BAD((e.pri = 0, e.uid = 2), 0);
	BAD((e.ident = "", e.tag = "", e.msg = "", e.uid = 3), 0);
#undef BAD
	T_EQ_INT(clog_count(c), 3);
	T_EQ_STR(newest(c).user, "");
	T_EQ_STR(newest(c).tag, "");
	T_EQ_STR(newest(c).msg, "");
	clog_free(c);
}

static void test_order(void)
{
	static const uint32_t times[] = { 5, 1, 0x100, 3, 2, 4 };
	static const uint32_t want[] = { 0x100, 5, 4, 3, 2, 1 };
	struct clog *c = clog_new();
	struct vfiles_log out[8];
	struct clog_entry e;

	T_EQ_INT(clog_newest(c, out, 8), 0);
	for (size_t i = 0; i < ARRAY_SIZE(times); i++) {
		e = ent(times[i], "pve1", (uint32_t)i, "m");
		T_EQ_INT(clog_add(c, &e), 0);
	}
	T_EQ_INT(clog_newest(c, out, 8), 6);
	for (size_t i = 0; i < ARRAY_SIZE(want); i++)
		T_EQ_INT(out[i].time, want[i]);
	T_EQ_INT(clog_newest(c, out, 2), 2);
	T_EQ_INT(out[0].time, 0x100);
	T_EQ_INT(out[1].time, 5);
	T_EQ_INT(clog_newest(c, out, 0), 0);
	/* every field */
	e = (struct clog_entry){ 0xfffffffe, 0x7fffffff,  31337,    3,
		                 "pve9",     "alice@pve", "vzdump", "backup done" };
	T_EQ_INT(clog_add(c, &e), 0);
	T_EQ_INT(clog_newest(c, out, 1), 1);
	T_EQ_INT(out[0].uid, 0xfffffffe);
	T_EQ_INT(out[0].time, 0x7fffffff);
	T_EQ_INT(out[0].pid, 31337);
	T_EQ_INT(out[0].pri, 3);
	T_EQ_STR(out[0].node, "pve9");
	T_EQ_STR(out[0].user, "alice@pve");
	T_EQ_STR(out[0].tag, "vzdump");
	T_EQ_STR(out[0].msg, "backup done");
	/* the strings are copies */
	T_ASSERT(out[0].node != e.node && out[0].msg != e.msg);
	clog_free(c);
}

static void test_ties(void)
{
	static const struct {
		uint32_t time;
		const char *node;
		uint32_t uid;
	} in[] = {
		{ 10, "b", 1 }, { 10, "a", 256 }, { 9, "z", 9 }, { 10, "a", 1 },
		{ 11, "a", 0 }, { 10, "b", 0 },   { 10, "ab", 0 },
	}, want[] = {
		{ 11, "a", 0 },  { 10, "b", 1 }, { 10, "b", 0 }, { 10, "ab", 0 },
		{ 10, "a", 256 }, { 10, "a", 1 }, { 9, "z", 9 },
	};
	struct clog *c = clog_new();
	struct vfiles_log out[ARRAY_SIZE(in)];

	for (size_t i = 0; i < ARRAY_SIZE(in); i++) {
		struct clog_entry e = ent(in[i].time, in[i].node, in[i].uid, "m");

		T_EQ_INT(clog_add(c, &e), 0);
	}
	T_EQ_INT(clog_newest(c, out, ARRAY_SIZE(out)), ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want); i++) {
		T_EQ_INT(out[i].time, want[i].time);
		T_EQ_STR(out[i].node, want[i].node);
		T_EQ_INT(out[i].uid, want[i].uid);
	}
	clog_free(c);
}

static void test_budget(void)
{
	/* 48 + "n" "i" "t" with NULs (6) + 969 + 1 = 1024 bytes: 128 fill it */
	char *big = rep('x', 969, "");
	struct clog *c = clog_new();
	struct clog_entry e;

	for (uint32_t t = 1; t <= 128; t++) {
		e = (struct clog_entry){ 1, t, 1, 6, "n", "i", "t", big };
		T_EQ_INT(clog_add(c, &e), 0);
	}
	T_EQ_INT(clog_count(c), 128); /* exactly CLOG_BYTES: nothing goes */
	T_EQ_INT(oldest_time(c), 1);
	e = (struct clog_entry){ 1, 129, 1, 6, "n", "i", "t", big };
	T_EQ_INT(clog_add(c, &e), 0);
	T_EQ_INT(clog_count(c), 128); /* the oldest went */
	T_EQ_INT(oldest_time(c), 2);
	T_EQ_INT(newest(c).time, 129);
	/* an entry older than all of them goes at once */
	e = (struct clog_entry){ 1, 0, 1, 6, "n", "i", "t", big };
	T_EQ_INT(clog_add(c, &e), 0);
	T_EQ_INT(clog_count(c), 128);
	T_EQ_INT(oldest_time(c), 2);
	/* a 55-byte entry passes the budget by 55: one big one goes, 969
	 * bytes are free then, room for 17 more small ones */
	for (uint32_t u = 0; u < 18; u++) {
		e = (struct clog_entry){ u, 200, 1, 6, "n", "i", "t", "" };
		T_EQ_INT(clog_add(c, &e), 0);
		T_EQ_INT(clog_count(c), 128 + u);
	}
	T_EQ_INT(oldest_time(c), 3);
	e = (struct clog_entry){ 18, 200, 1, 6, "n", "i", "t", "" };
	T_EQ_INT(clog_add(c, &e), 0);
	T_EQ_INT(clog_count(c), 145); /* the 18th small one pushes out another big one */
	T_EQ_INT(oldest_time(c), 4);
	free(big);
	clog_free(c);
}

static void test_json_safe(void)
{
	/* quote, control characters, DEL */
	T_EQ_STR(safe("plain text 123 ~!@#$%^&*()"), "plain text 123 ~!@#$%^&*()");
	T_EQ_STR(safe("say \"hi\""), "say \\\"hi\\\"");
	T_EQ_STR(safe("a\nb"), "a#010b");
	T_EQ_STR(safe("\x01\x1f\x7f\t\r|"), "#001#031#127#009#013|");
	/* UTF-8 of the BMP -> \uXXXX, lower-case hex */
	T_EQ_STR(safe("caf\xc3\xa9"), "caf\\u00e9");
	T_EQ_STR(safe("\xce\xa9"), "\\u03a9");
	T_EQ_STR(safe("\xe2\x82\xac 5"), "\\u20ac 5");
	T_EQ_STR(safe("\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf"), "\\u0080\\u07ff\\u0800\\uffff");
	/* above the BMP: dropped */
	T_EQ_STR(safe("a\xf0\x9f\x98\x80"
	              "b\xf4\x8f\xbf\xbf"
	              "c"),
	         "abc");
	/* not UTF-8: '?' per byte */
	T_EQ_STR(safe("\xff"), "?");
	T_EQ_STR(safe("x\xc3"), "x?");
	T_EQ_STR(safe("\xc3("), "?(");
	T_EQ_STR(safe("\x80"), "?");
	T_EQ_STR(safe("\xc0\xaf"), "??");           /* overlong */
	T_EQ_STR(safe("\xe0\x80\xaf"), "???");      /* overlong */
	T_EQ_STR(safe("\xed\xa0\x80"), "???");      /* surrogate */
	T_EQ_STR(safe("\xf4\x90\x80\x80"), "????"); /* above U+10FFFF */
	T_EQ_STR(safe("\xf0\x8f\xbf\xbf"), "????"); /* overlong */
	T_EQ_STR(safe("\xe2\x82x"), "??x");         /* cut short */
	T_EQ_STR(safe("\xf8\x88\x80\x80\x80"), "?????");
	/* backslashes: JSON escapes stay, others are doubled */
	T_EQ_STR(safe("a\\\"b"), "a\\\"b");
	T_EQ_STR(safe("\\\\ \\/ \\b \\f \\n \\r \\t"), "\\\\ \\/ \\b \\f \\n \\r \\t");
	T_EQ_STR(safe("caf\\u00e9"), "caf\\u00e9");
	T_EQ_STR(safe("\\u00E9"), "\\u00E9");
	T_EQ_STR(safe("C:\\dir"), "C:\\\\dir");
	T_EQ_STR(safe("\\x41"), "\\\\x41");
	T_EQ_STR(safe("\\u00g9"), "\\\\u00g9");
	T_EQ_STR(safe("\\u12"), "\\\\u12");
	T_EQ_STR(safe("end\\"), "end\\\\");
	T_EQ_STR(safe("\\\\\\"), "\\\\\\\\"); /* \\ kept, then a lone \ doubled */
	T_EQ_STR(safe("\\\n"), "\\\\#010");
	/* surrogates: a pair is one escape, a lone half is a stray backslash */
	T_EQ_STR(safe("\\ud83d\\ude00!"), "\\ud83d\\ude00!");
	T_EQ_STR(safe("\\ud83d!"), "\\\\ud83d!");
	T_EQ_STR(safe("\\ude00"), "\\\\ude00");
	T_EQ_STR(safe("\\ud83d\\u0041"), "\\\\ud83d\\u0041");
	/* the stored form is a fixed point */
	{
		char once[CLOG_ENTRY_MAX + 1];

		snprintf(once, sizeof(once), "%s",
		         safe("q\"\n\\z\\n\xc3\xa9\xff\\u00e9\\u0x\t\x7f end\\"));
		T_EQ_STR(once, "q\\\"#010\\\\z\\n\\u00e9?\\u00e9\\\\u0x#009#127 end\\\\");
		T_EQ_STR(safe(once), once);
	}
}

static void test_cut(void)
{
	/* "pve1" "root@pam" "pvedaemon": 48 + 5 + 9 + 10 + 1 leaves 4023 */
	const size_t max = CLOG_ENTRY_MAX - 48 - 5 - 9 - 10 - 1;
	struct clog *c = clog_new();
	struct clog_entry e;
	char *s, *want;
	size_t n;

	s = rep('x', 5000, "");
	T_EQ_INT(strlen(safe(s)), max);
	T_EQ_INT(strspn(safe(s), "x"), max);
	free(s);
	/* a unit that does not fit whole is left out, and what follows */
	s = rep('x', max - 1, "\nyy");
	T_EQ_INT(strlen(safe(s)), max - 1);
	free(s);
	s = rep('x', max - 4, "\n");
	want = rep('x', max - 4, "#010");
	T_EQ_STR(safe(s), want);
	free(s);
	free(want);
	s = rep('x', max - 1, "\"");
	T_EQ_INT(strlen(safe(s)), max - 1);
	free(s);
	s = rep('x', max - 2, "\"");
	want = rep('x', max - 2, "\\\"");
	T_EQ_STR(safe(s), want);
	free(s);
	free(want);
	s = rep('x', max - 5, "\xc3\xa9");
	T_EQ_INT(strlen(safe(s)), max - 5);
	free(s);
	s = rep('x', max - 6, "\xc3\xa9");
	want = rep('x', max - 6, "\\u00e9");
	T_EQ_STR(safe(s), want);
	free(s);
	free(want);
	s = rep('x', max - 5, "\\u00e9");
	T_EQ_INT(strlen(safe(s)), max - 5);
	free(s);
	s = rep('x', max - 1, "\\q");
	T_EQ_INT(strlen(safe(s)), max - 1);
	free(s);
	s = rep('x', max - 1, "\xff");
	want = rep('x', max - 1, "?");
	T_EQ_STR(safe(s), want);
	free(s);
	free(want);
	/* with the longest strings the message gets 4096 - 48 - 3 * 255 - 1 */
	s = rep('x', 5000, "");
	want = rep('n', CLOG_STR_MAX, "");
	e = (struct clog_entry){ 1, 1, 1, 1, want, want, want, s };
	T_EQ_INT(clog_add(c, &e), 0);
	n = strlen(newest(c).msg);
	T_EQ_INT(n, CLOG_ENTRY_MAX - 48 - 3 * (CLOG_STR_MAX + 1) - 1);
	free(s);
	free(want);
	clog_free(c);
}

static void test_strings(void)
{
	struct clog *c = clog_new();
	struct clog_entry e = ent(1,
	                          "a\"b\\c\x01"
	                          "d\x7f\xc3\xa9 e~",
	                          1, "m");
	char *n300 = rep('n', 300, ""), *i255 = rep('i', 255, ""), *t254 = rep('t', 254, "");
	struct vfiles_log l;

	e.ident = "root\n@pam";
	e.tag = "\"tag\"";
	T_EQ_INT(clog_add(c, &e), 0);
	l = newest(c);
	T_EQ_STR(l.node, "a_b_c_d___ e~");
	T_EQ_STR(l.user, "root_@pam");
	T_EQ_STR(l.tag, "_tag_");
	e = (struct clog_entry){ 1, 2, 1, 6, n300, i255, t254, "m" };
	T_EQ_INT(clog_add(c, &e), 0);
	l = newest(c);
	T_EQ_INT(strlen(l.node), CLOG_STR_MAX);
	T_EQ_INT(strlen(l.user), CLOG_STR_MAX);
	T_EQ_STR(l.tag, t254);
	T_ASSERT(!strncmp(l.node, n300, CLOG_STR_MAX));
	T_ASSERT(!strncmp(l.user, i255, CLOG_STR_MAX));
	/* the same node once cut */
	n300[CLOG_STR_MAX] = 0;
	e.node = n300;
	T_EQ_INT(clog_add(c, &e), -EEXIST);
	free(n300);
	free(i255);
	free(t254);
	clog_free(c);
}

static void test_wire_layout(void)
{
	static const uint8_t want[] = { 0x04, 0x03, 0x02, 0x01, 0x0d, 0x0c, 0x0b, 0x0a, 0x44,
		                        0x33, 0x22, 0x11, 0x05, 0x02, 0x01, 0x00, 0x06, 0x00,
		                        'n',  '_',  'u',  'h',  'i',  '#',  '0',  '1',  '0' };
	struct clog_entry e = { 0x01020304, 0x0a0b0c0d, 0x11223344, 5, "n\"", "u", "", "hi\n" };
	struct clog *c = clog_new();
	struct buf b = { 0 }, all = { 0 };

	clog_encode(&e, &b);
	T_EQ_INT(b.len, sizeof(want));
	if (b.len == sizeof(want))
		T_EQ_MEM(b.p, want, sizeof(want));
	/* what clog_add stores encodes the same */
	T_EQ_INT(clog_add(c, &e), 0);
	clog_encode_all(c, &all);
	T_EQ_INT(all.len, b.len);
	if (all.len == b.len)
		T_EQ_MEM(all.p, b.p, b.len);
	/* an entry clog_add refuses has no wire form */
	buf_reset(&b);
	e.pri = 8;
	clog_encode(&e, &b);
	e.pri = 5;
	e.node = "";
	clog_encode(&e, &b);
	T_EQ_INT(b.len, 0);
	/* one after the other */
	e.node = "n\"";
	clog_encode(&e, &b);
	clog_encode(&e, &b);
	T_EQ_INT(b.len, 2 * sizeof(want));
	buf_free(&b);
	buf_free(&all);
	clog_free(c);
}

/* a log with a bit of everything */
static struct clog *sample(void)
{
	struct clog *c = clog_new();
	char *longmsg = rep('m', 5000, "");
	char *longstr = rep('s', 300, "");
	struct clog_entry e[] = {
		ent(1779871231, "pve1", 17, "starting cluster log"),
		ent(1779871502, "pve2", 1042, "quote \" nl \n tab \t del \x7f"),
		ent(1779871502, "pve1", 1042, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xff"),
		ent(1779871502, "pve1", 1, "C:\\dir \\u00e9 \\n \\\\ end\\"),
		ent(3, "pve3", 0xffffffff, longmsg),
		{ 9, 1779871600, 0, 0, longstr, longstr, longstr, longmsg },
		{ 10, 1779871600, 1, 7, "p", "", "", "" },
	};

	for (size_t i = 0; i < ARRAY_SIZE(e); i++)
		clog_add(c, &e[i]);
	free(longmsg);
	free(longstr);
	return c;
}

static bool same_logs(const struct clog *a, const struct clog *b)
{
	struct vfiles_log la[16], lb[16];
	size_t n = clog_newest(a, la, 16);

	if (clog_newest(b, lb, 16) != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (la[i].uid != lb[i].uid || la[i].time != lb[i].time || la[i].pri != lb[i].pri ||
		    la[i].pid != lb[i].pid || strcmp(la[i].node, lb[i].node) ||
		    strcmp(la[i].user, lb[i].user) || strcmp(la[i].tag, lb[i].tag) ||
		    strcmp(la[i].msg, lb[i].msg))
			return false;
	return true;
}

static void test_round_trip(void)
{
	struct clog *a = sample(), *b = clog_new(), *c = clog_new();
	struct buf wa = { 0 }, wb = { 0 };
	struct clog_entry e;

	T_EQ_INT(clog_count(a), 7);
	clog_encode_all(a, &wa);
	/* oldest first */
	T_EQ_INT(get_le32(wa.p + 4), 3);
	T_EQ_INT(clog_decode_into(b, wa.p, wa.len), 7);
	T_EQ_INT(clog_count(b), 7);
	T_ASSERT(same_logs(a, b));
	clog_encode_all(b, &wb);
	T_EQ_INT(wb.len, wa.len);
	if (wb.len == wa.len)
		T_EQ_MEM(wb.p, wa.p, wa.len);
	/* idempotent */
	T_EQ_INT(clog_decode_into(b, wa.p, wa.len), 0);
	T_EQ_INT(clog_decode_into(a, wa.p, wa.len), 0);
	T_EQ_INT(clog_count(b), 7);
	T_ASSERT(same_logs(a, b));
	/* only what is missing counts; c has two of them and one of its own */
	e = ent(1779871231, "pve1", 17, "starting cluster log");
	T_EQ_INT(clog_add(c, &e), 0);
	e = ent(1779871502, "pve1", 1, "another text, same entry");
	T_EQ_INT(clog_add(c, &e), 0);
	e = ent(1779871300, "pve4", 1, "own");
	T_EQ_INT(clog_add(c, &e), 0);
	T_EQ_INT(clog_decode_into(c, wa.p, wa.len), 5);
	T_EQ_INT(clog_count(c), 8);
	T_ASSERT(!same_logs(a, c));
	/* an empty batch */
	T_EQ_INT(clog_decode_into(c, NULL, 0), 0);
	T_EQ_INT(clog_count(c), 8);
	/* the same entry twice in one batch counts once */
	buf_reset(&wb);
	e = ent(7, "pve5", 1, "twice");
	clog_encode(&e, &wb);
	clog_encode(&e, &wb);
	T_EQ_INT(clog_decode_into(c, wb.p, wb.len), 1);
	T_EQ_INT(clog_count(c), 9);
	buf_free(&wa);
	buf_free(&wb);
	clog_free(a);
	clog_free(b);
	clog_free(c);
}

static void test_decode_budget(void)
{
	/* 1024-byte entries as in test_budget */
	char *big = rep('x', 969, "");
	struct clog *c = clog_new(), *d = clog_new();
	struct buf b = { 0 };
	struct clog_entry e;

	for (uint32_t t = 1; t <= 130; t++) {
		e = (struct clog_entry){ 1, t, 1, 6, "n", "i", "t", big };
		clog_encode(&e, &b);
	}
	/* 130 decoded, the 2 oldest went again: 128 are new */
	T_EQ_INT(clog_decode_into(c, b.p, b.len), 128);
	T_EQ_INT(clog_count(c), 128);
	/* an older entry that goes at once is not new */
	buf_reset(&b);
	e = (struct clog_entry){ 1, 0, 1, 6, "n", "i", "t", big };
	clog_encode(&e, &b);
	T_EQ_INT(clog_decode_into(c, b.p, b.len), 0);
	T_EQ_INT(clog_count(c), 128);
	/* newer ones push out entries that were there before: they count */
	buf_reset(&b);
	e = (struct clog_entry){ 1, 500, 1, 6, "n", "i", "t", big };
	clog_encode(&e, &b);
	e.time = 501;
	clog_encode(&e, &b);
	T_EQ_INT(clog_decode_into(c, b.p, b.len), 2);
	T_EQ_INT(clog_count(c), 128);
	T_EQ_INT(newest(c).time, 501);
	/* again: nothing new, nothing gone */
	T_EQ_INT(clog_decode_into(c, b.p, b.len), 0);
	T_EQ_INT(clog_count(c), 128);
	T_EQ_INT(oldest_time(c), 5);
	/* into an empty log both are new */
	T_EQ_INT(clog_decode_into(d, b.p, b.len), 2);
	free(big);
	buf_free(&b);
	clog_free(c);
	clog_free(d);
}

/* one raw wire entry with explicit lengths */
static void wire(struct buf *b, uint8_t pri, const char *node, size_t nl, const char *ident,
                 size_t il, const char *tag, size_t tl, const char *msg, size_t ml)
{
	buf_put_le32(b, 1);
	buf_put_le32(b, 1000);
	buf_put_le32(b, 2);
	buf_put_u8(b, pri);
	buf_put_u8(b, (uint8_t)nl);
	buf_put_u8(b, (uint8_t)il);
	buf_put_u8(b, (uint8_t)tl);
	buf_put_le16(b, (uint16_t)ml);
	buf_put(b, node, nl);
	buf_put(b, ident, il);
	buf_put(b, tag, tl);
	buf_put(b, msg, ml);
}

/* decode [a good entry, then the given one] into a log holding one entry:
 * the count decode_into returned, or -EBADMSG; the log must be unchanged
 * after a refusal */
static int try_decode(uint8_t pri, const char *node, size_t nl, const char *ident, size_t il,
                      const char *tag, size_t tl, const char *msg, size_t ml)
{
	struct clog *c = clog_new();
	struct clog_entry e = ent(5, "pve9", 9, "there before");
	struct buf b = { 0 };
	int rc;

	clog_add(c, &e);
	e = ent(6, "good", 1, "good entry");
	clog_encode(&e, &b);
	wire(&b, pri, node, nl, ident, il, tag, tl, msg, ml);
	rc = clog_decode_into(c, b.p, b.len);
	if (rc < 0 && (clog_count(c) != 1 || strcmp(newest(c).node, "pve9")))
		rc = -1000; /* refused but changed */
	buf_free(&b);
	clog_free(c);
	return rc;
}

#define TRY(node, ident, msg)                                                          \
	try_decode(6, node, sizeof(node) - 1, ident, sizeof(ident) - 1, "tag", 3, msg, \
	           sizeof(msg) - 1)

static void test_decode_rejects(void)
{
	char *s255 = rep('s', 255, ""), *m = rep('m', CLOG_ENTRY_MAX + 1, "");
	struct clog *c = clog_new();
	struct clog_entry e;
	struct buf b = { 0 };
	size_t first;

	/* the good forms first, so that a refusal below is about one thing */
	T_EQ_INT(TRY("n", "i", "m"), 2);
	T_EQ_INT(TRY("n", "", ""), 2);
	T_EQ_INT(TRY("a b~!", "root@pam", "\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uABCD #010"),
	         2);
	T_EQ_INT(try_decode(7, "n", 1, "i", 1, "tag", 3, "m", 1), 2);
	T_EQ_INT(try_decode(6, s255, 254, s255, 254, "tag", 3, m, CLOG_ENTRY_MAX), 2);
	/* pri, node */
	T_EQ_INT(try_decode(8, "n", 1, "i", 1, "tag", 3, "m", 1), -EBADMSG);
	T_EQ_INT(try_decode(255, "n", 1, "i", 1, "tag", 3, "m", 1), -EBADMSG);
	T_EQ_INT(TRY("", "i", "m"), -EBADMSG);
	T_EQ_INT(TRY("a\0b", "i", "m"), -EBADMSG);
	T_EQ_INT(TRY("a\"b", "i", "m"), -EBADMSG);
	T_EQ_INT(TRY("a\\b", "i", "m"), -EBADMSG);
	T_EQ_INT(TRY("a\nb", "i", "m"), -EBADMSG);
	T_EQ_INT(TRY("\xc3\xa9", "i", "m"), -EBADMSG);
	T_EQ_INT(try_decode(6, s255, 255, "i", 1, "tag", 3, "m", 1), -EBADMSG);
	/* ident and tag have the same rules */
	T_EQ_INT(TRY("n", "i\x7f", "m"), -EBADMSG);
	T_EQ_INT(TRY("n", "i\"", "m"), -EBADMSG);
	T_EQ_INT(try_decode(6, "n", 1, s255, 255, "tag", 3, "m", 1), -EBADMSG);
	T_EQ_INT(try_decode(6, "n", 1, "i", 1, "", 0, "m", 1), 2);
	T_EQ_INT(try_decode(6, "n", 1, "i", 1, s255, 254, "m", 1), 2);
	T_EQ_INT(try_decode(6, "n", 1, "i", 1, s255, 255, "m", 1), -EBADMSG);
	T_EQ_INT(try_decode(6, "n", 1, "i", 1, "t\"", 2, "m", 1), -EBADMSG);
	T_EQ_INT(try_decode(6, "n", 1, "i", 1, "t\x80", 2, "m", 1), -EBADMSG);
	T_EQ_INT(try_decode(6, "n", 1, "i", 1, "t\x1f", 2, "m", 1), -EBADMSG);
	/* msg */
	T_EQ_INT(TRY("n", "i", "a\nb"), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "a\0b"), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "\x7f"), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "caf\xc3\xa9"), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "say \"hi\\\""), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "\""), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "C:\\dir"), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "end\\"), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "\\\\\\"), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "\\u12g4"), -EBADMSG);
	T_EQ_INT(TRY("n", "i", "\\u123"), -EBADMSG);
	T_EQ_INT(try_decode(6, "n", 1, "i", 1, "tag", 3, m, CLOG_ENTRY_MAX + 1), -EBADMSG);
	/* an escape is not finished by the bytes after the message */
	wire(&b, 6, "n", 1, "i", 1, "t", 1, "\\u123", 5);
	first = b.len;
	e = ent(6, "good", '4', "good entry");
	clog_encode(&e, &b);
	T_EQ_INT(b.p[first], '4'); /* the uid's low byte */
	T_EQ_INT(clog_decode_into(c, b.p, b.len), -EBADMSG);
	T_EQ_INT(clog_count(c), 0);
	buf_reset(&b);
	/* truncated anywhere but between entries */
	e = ent(6, "good", 1, "good entry");
	clog_encode(&e, &b);
	first = b.len;
	e = ent(7, "pve2", 2, "second \"entry\"");
	clog_encode(&e, &b);
	for (size_t n = 1; n < b.len; n++) {
		int rc = clog_decode_into(c, b.p, n);

		if (n == first) {
			T_EQ_INT(rc, 1);
			T_EQ_INT(clog_count(c), 1);
		} else {
			T_EQ_INT(rc, -EBADMSG);
			T_EQ_INT(clog_count(c), n < first ? 0 : 1);
		}
	}
	T_EQ_INT(clog_decode_into(c, b.p, b.len), 1);
	T_EQ_INT(clog_count(c), 2);
	/* a trailing byte */
	buf_put_u8(&b, 0);
	T_EQ_INT(clog_decode_into(c, b.p, b.len), -EBADMSG);
	free(s255);
	free(m);
	buf_free(&b);
	clog_free(c);
}

static void test_clusterlog_json(void)
{
	struct clog *c = clog_new();
	struct clog_entry e = { 7,           1779871502,
		                2231,        6,
		                "pve2",      "root@pam",
		                "pvedaemon", "He said \"hi\"\nbye C:\\dir caf\xc3\xa9 \\u00e9" };
	struct vfiles_log l[4];
	struct json_doc *d = NULL;
	struct buf b = { 0 };
	const struct json_val *arr;
	size_t n;

	T_EQ_INT(clog_add(c, &e), 0);
	e = (struct clog_entry){ 8, 1779871503, 1, 3, "bad\"node", "us\\er", "t\x01g", "\t\"" };
	T_EQ_INT(clog_add(c, &e), 0);
	n = clog_newest(c, l, 4);
	T_EQ_INT(n, 2);
	vfiles_clusterlog(&b, l, n, 0);
	buf_put_u8(&b, 0);
	b.len--;
	T_EQ_STR((const char *)b.p,
	         "{\n"
	         "\"data\": [\n"
	         "{\"uid\": 8, \"time\": 1779871503, \"pri\": 3, \"tag\": \"t_g\", \"pid\": 1, "
	         "\"node\": \"bad_node\", \"user\": \"us_er\", \"msg\": \"#009\\\"\"},\n"
	         "{\"uid\": 7, \"time\": 1779871502, \"pri\": 6, \"tag\": \"pvedaemon\", "
	         "\"pid\": 2231, \"node\": \"pve2\", \"user\": \"root@pam\", \"msg\": "
	         "\"He said \\\"hi\\\"#010bye C:\\\\dir caf\\u00e9 \\u00e9\"}\n"
	         "]\n"
	         "}\n");
	/* and a strict JSON reader agrees */
	T_EQ_INT(json_parse(b.p, b.len, &d), 0);
	arr = json_get(json_root(d), "data");
	T_EQ_INT(json_len(arr), 2);
	T_EQ_STR(json_get_str(json_at(arr, 0), "msg"), "#009\"");
	T_EQ_STR(json_get_str(json_at(arr, 1), "msg"),
	         "He said \"hi\"#010bye C:\\dir caf\xc3\xa9 \xc3\xa9");
	json_doc_free(d);
	buf_free(&b);
	clog_free(c);
}

int main(int argc, char **argv)
{
	t_init(argc, argv);
	T_RUN(test_add_dup);
	T_RUN(test_einval);
	T_RUN(test_order);
	T_RUN(test_ties);
	T_RUN(test_budget);
	T_RUN(test_json_safe);
	T_RUN(test_cut);
	T_RUN(test_strings);
	T_RUN(test_wire_layout);
	T_RUN(test_round_trip);
	T_RUN(test_decode_budget);
	T_RUN(test_decode_rejects);
	T_RUN(test_clusterlog_json);
	return t_done();
}
