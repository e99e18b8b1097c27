/*
 * etcd.c - request bodies and replies of etcd's JSON gateway (etcd.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "cluster/etcd.h"

/* base64 of n bytes (malloc'ed), or NULL. */
static char *
b64(const void *data, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);
    if (out)
        EVP_EncodeBlock((unsigned char *)out, data, (int)n);
    return out;
}

/* The first key after every key starting with prefix: etcd's range_end. */
static char *
prefix_end_b64(const char *prefix)
{
    size_t n = strlen(prefix);
    char end[512];
    if (n == 0 || n > sizeof end)
        return NULL;
    memcpy(end, prefix, n);
    while (n > 0 && (unsigned char)end[n - 1] == 0xff)
        n--;
    if (n == 0)
        return b64("\0", 1); /* every key */
    end[n - 1] = (char)((unsigned char)end[n - 1] + 1);
    return b64(end, n);
}

static char *
dump(json_t *obj)
{
    char *s = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
    json_decref(obj);
    return s;
}

static char *
num(char buf[24], int64_t v)
{
    snprintf(buf, 24, "%" PRId64, v);
    return buf;
}

char *
genrpc__etcd_auth_body(const char *user, const char *password)
{
    return dump(json_pack("{s:s, s:s}", "name", user, "password", password ? password : ""));
}

char *
genrpc__etcd_grant_body(int ttl_s)
{
    return dump(json_pack("{s:i}", "TTL", ttl_s));
}

char *
genrpc__etcd_lease_body(int64_t lease)
{
    char id[24];
    return dump(json_pack("{s:s}", "ID", num(id, lease)));
}

char *
genrpc__etcd_put_body(const char *key, const char *value, int64_t lease)
{
    char id[24];
    char *k = b64(key, strlen(key)), *v = b64(value, strlen(value));
    char *body = k && v ? dump(json_pack("{s:s, s:s, s:s}", "key", k, "value", v, "lease",
                                         num(id, lease)))
                        : NULL;
    free(k);
    free(v);
    return body;
}

char *
genrpc__etcd_range_body(const char *prefix)
{
    char *k = b64(prefix, strlen(prefix)), *end = prefix_end_b64(prefix);
    char *body = k && end ? dump(json_pack("{s:s, s:s}", "key", k, "range_end", end)) : NULL;
    free(k);
    free(end);
    return body;
}

char *
genrpc__etcd_watch_body(const char *prefix, int64_t start_revision)
{
    char rev[24];
    char *k = b64(prefix, strlen(prefix)), *end = prefix_end_b64(prefix);
    char *body = k && end ? dump(json_pack("{s:{s:s, s:s, s:s}}", "create_request", "key", k,
                                           "range_end", end, "start_revision",
                                           num(rev, start_revision)))
                          : NULL;
    free(k);
    free(end);
    return body;
}

json_t *
genrpc__etcd_parse(const char *text, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (!root || !json_is_object(root)) {
        snprintf(err, errlen, "etcd sent bad JSON (%s): %.100s", root ? "not an object" : je.text,
                 text);
        json_decref(root);
        return NULL;
    }
    /* streams wrap each message in "result" or report "error" */
    json_t *e = json_object_get(root, "error");
    if (!e)
        e = json_object_get(root, "Error");
    if (e) {
        json_t *msg = json_is_object(e) ? json_object_get(e, "message") : e;
        snprintf(err, errlen, "etcd: %s", json_is_string(msg) ? json_string_value(msg) : "error");
        json_decref(root);
        return NULL;
    }
    json_t *result = json_object_get(root, "result");
    if (result && json_is_object(result)) {
        json_incref(result);
        json_decref(root);
        return result;
    }
    return root;
}

int64_t
genrpc__etcd_int(const json_t *obj, const char *field)
{
    json_t *v = json_object_get(obj, field);
    if (json_is_integer(v))
        return (int64_t)json_integer_value(v);
    if (json_is_string(v))
        return strtoll(json_string_value(v), NULL, 10);
    return 0;
}

int64_t
genrpc__etcd_revision(const json_t *reply)
{
    return genrpc__etcd_int(json_object_get(reply, "header"), "revision");
}

long
genrpc__etcd_bytes(const json_t *obj, const char *field, char *out, size_t outlen)
{
    const char *s = json_string_value(json_object_get(obj, field));
    if (!s)
        return -1;
    size_t n = strlen(s);
    if (n % 4 != 0 || n / 4 * 3 + 1 > outlen)
        return -1;
    int got = EVP_DecodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
    if (got < 0)
        return -1;
    if (n >= 1 && s[n - 1] == '=')
        got--;
    if (n >= 2 && s[n - 2] == '=')
        got--;
    out[got] = '\0';
    return got;
}

static const char *
driver_name(genrpc_driver d)
{
    return d == GENRPC_DRIVER_TLS ? "tls" : "tcp";
}

char *
genrpc__etcd_member_value(const genrpc__member *m)
{
    return dump(json_pack("{s:s, s:s, s:i}", "driver", driver_name(m->driver), "host", m->host,
                          "port", m->port));
}

int
genrpc__etcd_member_parse(const char *prefix, const char *key, const char *value,
                          genrpc__member *m, char *err, size_t errlen)
{
    size_t plen = strlen(prefix);
    const char *name = key + plen;
    const char *at = strchr(name, '@');
    if (strncmp(key, prefix, plen) != 0 || !at || at == name || !at[1] ||
        strlen(name) > GENRPC__NAME_MAX) {
        snprintf(err, errlen, "key '%.300s' is not %sname@host", key, prefix);
        return -1;
    }
    json_error_t je;
    json_t *v = json_loads(value, 0, &je);
    const char *driver = NULL, *host = NULL;
    int port = 0;
    if (!v || json_unpack_ex(v, &je, 0, "{s:s, s:s, s:i}", "driver", &driver, "host", &host,
                             "port", &port) != 0) {
        snprintf(err, errlen, "member %s: bad value (%s)", name, je.text);
        json_decref(v);
        return -1;
    }
    int rc = -1;
    if (strcmp(driver, "tcp") != 0 && strcmp(driver, "tls") != 0)
        snprintf(err, errlen, "member %s: unknown driver '%.20s'", name, driver);
    else if (port <= 0 || port > 65535)
        snprintf(err, errlen, "member %s: bad port %d", name, port);
    else if (!host[0] || strlen(host) >= sizeof m->host)
        snprintf(err, errlen, "member %s: bad host", name);
    else
        rc = 0;
    if (rc == 0) {
        snprintf(m->name, sizeof m->name, "%s", name);
        snprintf(m->host, sizeof m->host, "%s", host);
        m->port = port;
        m->driver = strcmp(driver, "tls") == 0 ? GENRPC_DRIVER_TLS : GENRPC_DRIVER_TCP;
    }
    json_decref(v);
    return rc;
}
