/* applets/cfsd/join.c - the TLS listener on TCP 8006: the join API and a
 * small JSON API (spec/pmxcfs.md §12.2, §12.6)
 * SPDX-License-Identifier: MIT
 *
 * Listens on the ring0 address of this node (from the tree's
 * corosync.conf) with the node certificate of the tree
 * (nodes/<name>/pve-ssl.{pem,key}).  The certificate may appear or change
 * after start (a joiner makes its certificate once it has the cluster's
 * CA; `pvecm updatecerts --force`): a timer looks every JOIN_CHECK_SEC
 * and restarts the listener when the certificate or the address changed.
 *
 *	GET  /api2/json/cluster/config/join      join information: nodelist with
 *	     pve_addr and pve_fp (SHA-256 of pveproxy-ssl.pem, else pve-ssl.pem),
 *	     preferred_node, totem, config_digest (SHA-256 of corosync.conf:
 *	     the build has no SHA-1, Proxmox uses SHA-1 here)
 *	GET  /api2/json/cluster/config/apiversion  1
 *	GET  /api2/json/cluster/status           [{type:cluster,...},{type:node,...}...]
 *	POST /api2/json/cluster/config/nodes/<n> join: body JSON (or a form) with
 *	     token or password, nodeid, votes, force, link0..7, new_node_ip.
 *	     The token is checked against priv/join-tokens (sha256, not expired,
 *	     then removed); the password against root's hash in <root>/etc/shadow
 *	     (or /etc/shadow) with crypt().  Needs quorum.  The node is added
 *	     through the log (cluster_lib_addnode), its directories made, and
 *	     the answer carries the authkey (base64) and corosync.conf.
 *
 * The steps of a join are writes through the log, one after the other
 * (each from the callback of the previous one): token file, node
 * directories, corosync.conf.  Only one join runs at a time (-EBUSY).
 */
#define LOG_TAG "join"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "applets/cfsd/cfsd.h"
#include "applets/cfsd/cluster.h"
#include "applets/cluster_lib.h"
#include "core/cert.h"
#include "core/corosync_conf.h"
#include "core/crypt.h"
#include "core/json.h"
#include "core/log.h"
#include "core/path.h"
#include "core/tls.h"
#include "net/http.h"
#include "store/tree.h"

/* The static musl of Debian has no crypt(): a weak reference lets the
 * password check say so instead of failing to link. */
extern char *crypt(const char *key, const char *salt) __attribute__((weak));

#define JOIN_CHECK_SEC  2.0
#define JOIN_TIMEOUT_MS 30000
#define API             "/api2/json/cluster"
#define NODES           API "/config/nodes/"

struct join_req {
	struct cfsd *d;
	struct http_conn *conn;
	char name[CFS_NAME_MAX + 1];
	char nodeid_s[16];
	char warning[COROSYNC_CONF_ERR_MAX]; /* for the joiner, or "" */
	bool token_used;                     /* rewrite the tokens file without the token */
	struct buf tokens;                   /* the new tokens file */
	struct buf conf;                     /* the new corosync.conf */
	struct buf forced;                   /* --force: the configuration without the old entry */
	int step;
};

static const struct tree_node *tree_file(const struct cfsd *d, const char *path)
{
	const struct tree_node *n = tree_lookup(rules_tree(d->rules), path);

	return n && n->type == TREE_FILE ? n : NULL;
}

static void reply_error(struct http_conn *c, int status, const char *msg)
{
	struct buf out = { 0 };

	http_response_error(&out, status, msg);
	http_conn_reply(c, out.p, out.len);
	buf_free(&out);
}

static void reply_data(struct http_conn *c, struct buf *json)
{
	struct buf out = { 0 };

	buf_put_u8(json, 0);
	http_response_data(&out, (const char *)json->p);
	http_conn_reply(c, out.p, out.len);
	buf_free(&out);
}

/* the tree's corosync.conf, parsed; 0 or -errno */
static int tree_conf(const struct cfsd *d, struct corosync_conf **c, struct cluster_conf *cc)
{
	const struct tree_node *f = tree_file(d, "corosync.conf");
	int rc;

	if (!f || !f->size)
		return -ENOENT;
	rc = corosync_conf_parse((const char *)f->data, f->size, "corosync.conf", 0, c, NULL, 0);
	if (rc < 0)
		return rc;
	rc = corosync_conf_cluster(*c, cc, NULL, 0);
	if (rc < 0) {
		corosync_conf_free(*c);
		*c = NULL;
	}
	return rc;
}

static void node_fp(const struct cfsd *d, const char *node, char fp[CERT_FP_STRLEN])
{
	char p[CFS_PATH_MAX];
	const struct tree_node *f;

	fp[0] = 0;
	snprintf(p, sizeof(p), "nodes/%s/pveproxy-ssl.pem", node);
	f = tree_file(d, p);
	if (!f) {
		snprintf(p, sizeof(p), "nodes/%s/pve-ssl.pem", node);
		f = tree_file(d, p);
	}
	if (f && cert_fingerprint(f->data, f->size, fp) < 0)
		fp[0] = 0;
}

static void get_join(struct cfsd *d, struct http_conn *c)
{
	struct corosync_conf *conf = NULL;
	struct cluster_conf cc;
	struct corosync_conf_item *totem, *it;
	const struct tree_node *f;
	char fp[CERT_FP_STRLEN], hex[65];
	uint8_t h[CRYPT_SHA256_SIZE];
	struct buf b = { 0 };
	struct json w;
	size_t i, k;

	if (!cluster_is_active(d) || tree_conf(d, &conf, &cc) < 0) {
		reply_error(c, 424, "node is not in a cluster, no join info available!");
		return;
	}
	json_init(&w, &b);
	json_obj_open(&w);
	json_key(&w, "nodelist");
	json_arr_open(&w);
	for (i = 0; i < cc.n_nodes; i++) {
		const struct cluster_conf_node *n = &cc.nodes[i];

		json_obj_open(&w);
		json_kv_str(&w, "name", n->name);
		json_kv_int(&w, "nodeid", n->nodeid);
		json_kv_int(&w, "quorum_votes", n->votes);
		for (k = 0; k < COROSYNC_CONF_LINKS; k++) {
			char key[16];

			if (!n->addr[k])
				continue;
			snprintf(key, sizeof(key), "ring%zu_addr", k);
			json_kv_str(&w, key, n->addr[k]);
		}
		json_kv_str(&w, "pve_addr", n->addr[0]);
		node_fp(d, n->name ? n->name : "", fp);
		json_kv_str(&w, "pve_fp", fp[0] ? fp : NULL);
		json_obj_close(&w);
	}
	json_arr_close(&w);
	json_kv_str(&w, "preferred_node", d->name);
	json_key(&w, "totem");
	json_obj_open(&w);
	totem = corosync_conf_find(&conf->root, "totem");
	for (it = totem ? totem->child : NULL; it; it = it->next)
		if (it->value)
			json_kv_str(&w, it->name, it->value);
	json_obj_close(&w);
	f = tree_file(d, "corosync.conf");
	crypt_sha256(f->data, f->size, h);
	for (i = 0; i < sizeof(h); i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	json_kv_str(&w, "config_digest", hex);
	json_obj_close(&w);
	reply_data(c, &b);
	buf_free(&b);
	corosync_conf_cluster_free(&cc);
	corosync_conf_free(conf);
}

static void get_status(struct cfsd *d, struct http_conn *c)
{
	struct cluster_view v;
	struct buf b = { 0 };
	struct json w;
	size_t i;

	cluster_view(d, &v);
	json_init(&w, &b);
	json_arr_open(&w);
	if (v.cluster) {
		json_obj_open(&w);
		json_kv_str(&w, "type", "cluster");
		json_kv_str(&w, "id", "cluster");
		json_kv_str(&w, "name", v.cluster_name);
		json_kv_int(&w, "version", (int64_t)v.config_version);
		json_kv_int(&w, "nodes", (int64_t)v.n_nodes);
		json_kv_int(&w, "quorate", v.quorate);
		json_obj_close(&w);
	}
	for (i = 0; i < v.n_nodes; i++) {
		char id[CFS_NAME_MAX + 8];

		snprintf(id, sizeof(id), "node/%s", v.nodes[i].name ? v.nodes[i].name : "");
		json_obj_open(&w);
		json_kv_str(&w, "type", "node");
		json_kv_str(&w, "id", id);
		json_kv_str(&w, "name", v.nodes[i].name);
		json_kv_int(&w, "nodeid", v.nodes[i].nodeid);
		json_kv_str(&w, "ip", v.nodes[i].addr);
		json_kv_int(&w, "online", v.nodes[i].online);
		json_kv_int(&w, "local", v.nodes[i].nodeid == v.self);
		json_obj_close(&w);
	}
	json_arr_close(&w);
	reply_data(c, &b);
	buf_free(&b);
}

/* ---------------------------------------------------------------- POST join */

/* a parameter from a JSON body or a form body, as text */
static int param(const struct http_req *req, const struct json_doc *doc, const char *key, char *out,
                 size_t size)
{
	const struct json_val *v;

	if (doc) {
		v = json_get(json_root(doc), key);
		if (!v)
			return -ENOENT;
		if (json_type(v) == JSON_STR)
			snprintf(out, size, "%s", json_as_str(v, NULL));
		else if (json_type(v) == JSON_NUM)
			snprintf(out, size, "%s", json_num_text(v));
		else
			return -EINVAL;
		return 0;
	}
	return http_form_getn(req->body, req->content_length, key, out, size);
}

static bool num_param(const struct http_req *req, const struct json_doc *doc, const char *key,
                      uint32_t max, uint32_t *out, bool *bad)
{
	char s[32], *end;
	unsigned long v;

	if (param(req, doc, key, s, sizeof(s)) < 0)
		return false;
	v = strtoul(s, &end, 10);
	if (!*s || *end || v > max) {
		*bad = true;
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* root's password against the shadow file; 0, -EACCES, or -ENOTSUP with
 * a message (a hash this crypt() does not know) */
static int check_password(const struct cfsd *d, const char *pw, char *msg, size_t size)
{
	char path[CFS_PATH_MAX + 64], *text = NULL, *line, *save = NULL, *hash = NULL, *out;
	char mine[CLUSTER_CRYPT_MAX];
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/etc/shadow", d->root);
	rc = path_read_file(path, 1 << 20, &text, &len);
	if (rc < 0 && d->root[0])
		rc = path_read_file("/etc/shadow", 1 << 20, &text, &len);
	if (rc < 0) {
		snprintf(msg, size, "cannot read the shadow file: %s", cfs_strerror(rc));
		return -EACCES;
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "root:", 5)) {
			hash = line + 5;
			*strchrnul(hash, ':') = 0;
			break;
		}
	}
	rc = -EACCES;
	snprintf(msg, size, "authentication failure");
	if (hash && hash[0] == '$') {
		if (!strncmp(hash, "$5$", 3))
			out = cluster_lib_crypt_sha256(pw, hash, mine, sizeof(mine)) == 0 ? mine
			                                                                  : NULL;
		else
			out = crypt ? crypt(pw, hash) : NULL;
		if (!out || out[0] == '*' || strncmp(out, hash, 3)) {
			char id[8];

			snprintf(id, sizeof(id), "%.*s", (int)(strchrnul(hash + 1, '$') - hash + 1),
			         hash);
			snprintf(msg, size,
			         "cannot check the root password: this system's crypt() does not "
			         "support '%s' hashes - use a join token (pvecm token)",
			         id);
			rc = -ENOTSUP;
		} else if (crypt_equal(out, hash, strlen(hash) + 1)) {
			rc = 0;
		}
	}
	crypt_wipe(text, len);
	free(text);
	return rc;
}

static void join_free(struct join_req *j)
{
	buf_free(&j->tokens);
	buf_free(&j->conf);
	buf_free(&j->forced);
	cluster_ext(j->d)->join_busy = false;
	free(j);
}

static void join_fail(struct join_req *j, int status, const char *msg)
{
	log_warn("join of %s refused: %s", j->name, msg);
	reply_error(j->conn, status, msg);
	join_free(j);
}

static void join_step(void *ctx, int rc);

static void join_answer(struct join_req *j)
{
	char path[CFS_PATH_MAX + 64], msg[256];
	uint8_t *key = NULL;
	size_t keylen = 0;
	struct buf b = { 0 };
	struct json w;
	int rc;

	snprintf(path, sizeof(path), "%s/etc/corosync/authkey", j->d->root);
	rc = crypt_authkey_read(path, &key, &keylen, msg, sizeof(msg));
	if (rc < 0) {
		join_fail(j, 500, msg);
		return;
	}
	json_init(&w, &b);
	json_obj_open(&w);
	json_key(&w, "corosync_authkey");
	{
		struct buf k64 = { 0 };

		cluster_lib_b64_encode(key, keylen, &k64);
		json_strn(&w, k64.p, k64.len);
		crypt_wipe(k64.p, k64.len);
		buf_free(&k64);
	}
	crypt_wipe(key, keylen);
	free(key);
	json_key(&w, "corosync_conf");
	json_strn(&w, j->conf.p, j->conf.len);
	json_key(&w, "warnings");
	json_arr_open(&w);
	if (j->warning[0])
		json_str(&w, j->warning);
	json_arr_close(&w);
	json_obj_close(&w);
	log_info("node %s added to the cluster (nodeid %s)", j->name, j->nodeid_s);
	reply_data(j->conn, &b);
	crypt_wipe(b.p, b.len);
	buf_free(&b);
	join_free(j);
}

/* The writes of a join, in order; ctx is the join_req. */
static void join_step(void *ctx, int rc)
{
	static const char *const sub[] = { "", "/qemu-server", "/lxc", "/openvz", "/priv" };
	struct join_req *j = ctx;
	char p[CFS_PATH_MAX], msg[128];
	int step = j->step++;

	if (rc < 0 && !(rc == -EEXIST && step >= 2 && step < 2 + (int)ARRAY_SIZE(sub))) {
		snprintf(msg, sizeof(msg), "%s",
		         rc == -EACCES ? "cluster not ready - no quorum?" : cfs_strerror(rc));
		join_fail(j, 500, msg);
		return;
	}
	if (step == 0) { /* token file */
		if (j->token_used) {
			cluster_write(j->d, OP_PUT, CLUSTER_TOKENS_PATH, j->tokens.p, j->tokens.len,
			              join_step, j);
			return;
		}
		step = j->step++;
	}
	if (step >= 1 && step < 1 + (int)ARRAY_SIZE(sub)) {
		snprintf(p, sizeof(p), "nodes/%s%s", j->name, sub[step - 1]);
		if (step == 1 && tree_lookup(rules_tree(j->d->rules), "nodes") == NULL) {
			j->step--; /* make nodes/ first */
			cluster_write(j->d, OP_MKDIR, "nodes", NULL, 0, join_step, j);
			return;
		}
		if (tree_lookup(rules_tree(j->d->rules), p)) {
			join_step(j, 0);
			return;
		}
		cluster_write(j->d, OP_MKDIR, p, NULL, 0, join_step, j);
		return;
	}
	if (step == 1 + (int)ARRAY_SIZE(sub)) {
		if (j->forced.len) {
			cluster_write(j->d, OP_PUT, "corosync.conf", j->forced.p, j->forced.len,
			              join_step, j);
			return;
		}
		step = j->step++;
	}
	if (step == 2 + (int)ARRAY_SIZE(sub)) {
		cluster_write(j->d, OP_PUT, "corosync.conf", j->conf.p, j->conf.len, join_step, j);
		return;
	}
	join_answer(j);
}

static void post_join(struct cfsd *d, struct http_conn *c, const struct http_req *req,
                      const char *name)
{
	const char *addr[COROSYNC_CONF_LINKS] = { 0 };
	char links[COROSYNC_CONF_LINKS][256], newip[256], secret[512], msg[COROSYNC_CONF_ERR_MAX];
	struct json_doc *doc = NULL;
	const char *ct = http_req_header(req, "Content-Type");
	const struct tree_node *f, *tf;
	struct join_req *j;
	struct buf forced = { 0 };
	uint32_t nodeid = 0, votes = 1, id = 0, force = 0;
	bool bad = false, token;
	size_t k;
	int rc;

	if (!rules_node_name_ok(name, strlen(name)) || strlen(name) > CFS_NAME_MAX) {
		reply_error(c, 400, "invalid node name");
		return;
	}
	if (ct && !strncasecmp(ct, "application/json", 16) &&
	    json_parse(req->body, req->content_length, &doc) < 0) {
		reply_error(c, 400, "invalid JSON body");
		return;
	}
	/* authentication first: nothing is said to a caller without it */
	token = param(req, doc, "token", secret, sizeof(secret)) == 0;
	if (!token && param(req, doc, "password", secret, sizeof(secret)) < 0) {
		reply_error(c, 401, "authentication failure: no token or password given");
		goto out;
	}
	if (!cluster_is_active(d)) {
		reply_error(c, 424, "node is not in a cluster, no join info available!");
		goto out;
	}
	if (cluster_ext(d)->join_busy) {
		reply_error(c, 503, "another join is in progress, try again");
		goto out;
	}
	if (!cluster_quorate(d)) {
		reply_error(c, 500, "cluster not ready - no quorum?");
		goto out;
	}
	j = xcalloc(1, sizeof(*j));
	j->d = d;
	j->conn = c;
	snprintf(j->name, sizeof(j->name), "%s", name);
	if (token) {
		tf = tree_file(d, CLUSTER_TOKENS_PATH);
		rc = cluster_lib_tokens_use(tf ? (const char *)tf->data : "", tf ? tf->size : 0,
		                            secret, time(NULL), &j->tokens);
		if (rc < 0) {
			buf_free(&j->tokens);
			free(j);
			log_warn("join of %s from %s: %s token", name, http_conn_peer(c),
			         rc == -ESTALE ? "expired" : "unknown");
			reply_error(c, 401,
			            rc == -ESTALE ? "authentication failure: join token expired"
			                          : "authentication failure: invalid join token");
			goto out;
		}
		j->token_used = true;
	} else {
		rc = check_password(d, secret, msg, sizeof(msg));
		if (rc < 0) {
			free(j);
			log_warn("join of %s from %s: %s", name, http_conn_peer(c), msg);
			reply_error(c, 401, msg);
			goto out;
		}
	}
	num_param(req, doc, "nodeid", 65535, &nodeid, &bad);
	num_param(req, doc, "votes", 255, &votes, &bad);
	num_param(req, doc, "force", 1, &force, &bad);
	for (k = 0; k < COROSYNC_CONF_LINKS; k++) {
		char key[8];

		snprintf(key, sizeof(key), "link%zu", k);
		if (param(req, doc, key, links[k], sizeof(links[k])) == 0)
			addr[k] = links[k];
	}
	if (!addr[0] && param(req, doc, "new_node_ip", newip, sizeof(newip)) == 0)
		addr[0] = newip;
	if (bad) {
		join_free(j);
		reply_error(c, 400, "Parameter verification failed.");
		goto out;
	}
	if (!addr[0]) {
		join_free(j);
		reply_error(c, 400,
		            "no links and no fallback ip (new_node_ip) given, cannot join cluster");
		goto out;
	}
	f = tree_file(d, "corosync.conf");
	id = nodeid;
	rc = 0;
	if (force) {
		rc = cluster_lib_force_node(f ? (const char *)f->data : "", f ? f->size : 0, name,
		                            nodeid, votes, &forced, &id, msg, sizeof(msg));
		if (rc == 1)
			snprintf(j->warning, sizeof(j->warning), "%s", msg);
	}
	if (rc >= 0)
		rc = rc == 1 ? cluster_lib_addnode((const char *)forced.p, forced.len, name, id,
		                                   votes, addr, &j->conf, &id, msg, sizeof(msg))
		             : cluster_lib_addnode(f ? (const char *)f->data : "", f ? f->size : 0,
		                                   name, id, votes, addr, &j->conf, &id, msg,
		                                   sizeof(msg));
	j->forced = forced; /* the removal step, committed first (empty: none) */
	if (rc < 0) {
		cluster_ext(d)->join_busy = true;
		join_fail(j, 500, msg);
		goto out;
	}
	snprintf(j->nodeid_s, sizeof(j->nodeid_s), "%u", id);
	cluster_ext(d)->join_busy = true;
	log_info("join request of %s from %s (nodeid %u, %s)", name, http_conn_peer(c), id,
	         token ? "token" : "password");
	join_step(j, 0);
out:
	crypt_wipe(secret, sizeof(secret));
	json_doc_free(doc);
}

static void handler(void *ctx, struct http_conn *c, const struct http_req *req)
{
	struct cfsd *d = ctx;
	const char *p = req->path;

	if (!strcmp(req->method, "GET") && !strcmp(p, API "/config/join")) {
		get_join(d, c);
	} else if (!strcmp(req->method, "GET") && !strcmp(p, API "/config/apiversion")) {
		struct buf b = { 0 };

		buf_put_str(&b, "1");
		reply_data(c, &b);
		buf_free(&b);
	} else if (!strcmp(req->method, "GET") && !strcmp(p, API "/status")) {
		get_status(d, c);
	} else if (!strcmp(req->method, "POST") && !strncmp(p, NODES, strlen(NODES)) &&
	           p[strlen(NODES)] && !strchr(p + strlen(NODES), '/')) {
		post_join(d, c, req, p + strlen(NODES));
	} else if (!strncmp(p, API, strlen(API))) {
		reply_error(c, 501, "Method not implemented");
	} else {
		reply_error(c, 404, "Not Found");
	}
}

/* ---------------------------------------------------------------- listener */

static void stop_listener(struct cfsd *d)
{
	http_server_free(cluster_ext(d)->join_http);
	cluster_ext(d)->join_http = NULL;
	tls_conf_free(cluster_ext(d)->join_tls);
	cluster_ext(d)->join_tls = NULL;
	if (cluster_ext(d)->join_fd >= 0)
		close(cluster_ext(d)->join_fd);
	cluster_ext(d)->join_fd = -1;
	cluster_ext(d)->join_fp[0] = 0;
	cluster_ext(d)->join_addr[0] = 0;
}

static int listen_on(const char *addr)
{
	struct addrinfo hints = { 0 }, *res;
	int fd, one = 1, rc;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(addr, "8006", &hints, &res) != 0)
		return -EINVAL;
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		freeaddrinfo(res);
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		close(fd);
		freeaddrinfo(res);
		return rc;
	}
	freeaddrinfo(res);
	return fd;
}

/* (re)start the listener when the certificate or address changed */
static void refresh(struct cfsd *d)
{
	struct corosync_conf *conf = NULL;
	struct cluster_conf cc;
	const struct cluster_conf_node *me;
	const struct tree_node *cert, *key;
	char p[CFS_PATH_MAX], fp[CERT_FP_STRLEN], addr[64] = "";
	int rc, fd;

	if (!cluster_is_active(d)) {
		if (cluster_ext(d)->join_http)
			stop_listener(d);
		return;
	}
	if (tree_conf(d, &conf, &cc) == 0) {
		me = corosync_conf_node_by_id(&cc, d->nodeid);
		if (me && me->addr[0])
			snprintf(addr, sizeof(addr), "%s", me->addr[0]);
		corosync_conf_cluster_free(&cc);
		corosync_conf_free(conf);
	}
	snprintf(p, sizeof(p), "nodes/%s/pve-ssl.pem", d->name);
	cert = tree_file(d, p);
	snprintf(p, sizeof(p), "nodes/%s/pve-ssl.key", d->name);
	key = tree_file(d, p);
	if (!cert || !key || !addr[0] || cert_fingerprint(cert->data, cert->size, fp) < 0)
		return;
	if (cluster_ext(d)->join_http && !strcmp(fp, cluster_ext(d)->join_fp) &&
	    !strcmp(addr, cluster_ext(d)->join_addr))
		return;
	stop_listener(d);
	rc = tls_conf_server_new(cert->data, cert->size, key->data, key->size,
	                         &cluster_ext(d)->join_tls);
	if (rc < 0) {
		log_every(60, LOG_LVL_WARN, "node certificate or key unusable: %s",
		          cfs_strerror(rc));
		return;
	}
	fd = listen_on(addr);
	if (fd < 0) {
		log_every(60, LOG_LVL_WARN, "cannot listen on %s port 8006: %s", addr,
		          cfs_strerror(fd));
		stop_listener(d);
		return;
	}
	cluster_ext(d)->join_fd = fd;
	rc = http_server_new(d->loop, fd, cluster_ext(d)->join_tls, JOIN_TIMEOUT_MS, handler, d,
	                     &cluster_ext(d)->join_http);
	if (rc < 0) {
		stop_listener(d);
		return;
	}
	snprintf(cluster_ext(d)->join_fp, sizeof(cluster_ext(d)->join_fp), "%s", fp);
	snprintf(cluster_ext(d)->join_addr, sizeof(cluster_ext(d)->join_addr), "%s", addr);
	log_info("join API listening on %s port 8006 (certificate %.23s...)", addr, fp);
}

static void check_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	refresh(container_of(w, struct cluster_ext, join_check)->d);
}

void join_start(struct cfsd *d)
{
	struct cluster_ext *x = cluster_ext(d);

	x->join_fd = -1;
	ev_timer_init(&x->join_check, check_cb, 0.05, JOIN_CHECK_SEC);
	ev_timer_start(d->loop, &x->join_check);
}

void join_stop(struct cfsd *d)
{
	ev_timer_stop(d->loop, &cluster_ext(d)->join_check);
	if (cluster_ext(d)->join_busy)
		return; /* a pending reply holds the server: the process is exiting anyway */
	stop_listener(d);
}
