/*
 * etcd.h - etcd's v3 JSON gateway in genrpc's words: the request bodies
 * (keys and values base64, 64-bit numbers as strings), the replies read
 * with jansson, and a member's value (what a node registers).
 *
 * Endpoints used (etcd 3.4+, "[CLIENT-URL]/v3/..."): auth/authenticate,
 * lease/grant, lease/keepalive, lease/revoke, kv/put, kv/range, watch.
 */
#ifndef GENRPC_CLUSTER_ETCD_H
#define GENRPC_CLUSTER_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "genrpc/cluster.h"
#include "wire/frame.h"

/* One member as the cluster caches it. */
typedef struct genrpc__member {
    char name[GENRPC__NAME_MAX + 1];
    char host[256];
    int port;
    genrpc_driver driver;
} genrpc__member;

/* Request bodies: malloc'ed JSON text, or NULL (no memory). */
char *genrpc__etcd_auth_body(const char *user, const char *password);
char *genrpc__etcd_grant_body(int ttl_s);
char *genrpc__etcd_lease_body(int64_t lease); /* keepalive and revoke */
char *genrpc__etcd_put_body(const char *key, const char *value, int64_t lease);
char *genrpc__etcd_range_body(const char *prefix);
char *genrpc__etcd_watch_body(const char *prefix, int64_t start_revision);

/* Parses a reply (or one line of a stream): the JSON object, its "result"
 * unwrapped for streaming replies; NULL with err set for bad JSON or an
 * error reply. The caller json_decref's it. */
json_t *genrpc__etcd_parse(const char *text, char *err, size_t errlen);

/* A 64-bit field etcd sends as a string ("ID", "TTL", "revision"); 0 when
 * absent (proto3 leaves zeros out). */
int64_t genrpc__etcd_int(const json_t *obj, const char *field);
/* header.revision of a reply. */
int64_t genrpc__etcd_revision(const json_t *reply);

/* A base64 field ("key", "value") decoded into out (outlen bytes, NUL
 * added); its length, or -1 if absent, not base64 or too long. */
long genrpc__etcd_bytes(const json_t *obj, const char *field, char *out, size_t outlen);

/* The value a node registers: {"driver":"tcp","host":"10.0.0.5","port":5369}. */
char *genrpc__etcd_member_value(const genrpc__member *m);
/* The member a key under `prefix` and its value describe: 0, or -1 with
 * err set (not under the prefix, bad name, bad value). */
int genrpc__etcd_member_parse(const char *prefix, const char *key, const char *value,
                              genrpc__member *m, char *err, size_t errlen);

#endif /* GENRPC_CLUSTER_ETCD_H */
