/*
 * http.c - POSTs to etcd's JSON gateway through libcurl (http.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/http.h"

/* A reply larger than this is refused: a member list of thousands of nodes
 * fits many times over. */
#define HTTP_REPLY_MAX ((size_t)16 << 20)

static bool
append(genrpc__http_req *r, const char *data, size_t n)
{
    if (r->len + n + 1 > HTTP_REPLY_MAX) {
        r->too_big = true;
        return false;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;
        while (cap < r->len + n + 1)
            cap *= 2;
        char *p = realloc(r->buf, cap);
        if (!p)
            return false;
        r->buf = p;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, data, n);
    r->len += n;
    r->buf[r->len] = '\0';
    return true;
}

/* A stream's complete lines go to on_line; the tail waits for more. */
static void
split_lines(genrpc__http_req *r)
{
    size_t start = 0;
    for (size_t i = 0; i < r->len; i++) {
        if (r->buf[i] != '\n')
            continue;
        r->buf[i] = '\0';
        if (i > start)
            r->on_line(r->arg, r->buf + start, i - start);
        start = i + 1;
    }
    memmove(r->buf, r->buf + start, r->len - start);
    r->len -= start;
    if (r->buf)
        r->buf[r->len] = '\0';
}

static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
    genrpc__http_req *r = arg;
    if (!append(r, data, size * nmemb))
        return 0; /* curl fails the transfer (CURLE_WRITE_ERROR) */
    if (r->on_line)
        split_lines(r);
    return size * nmemb;
}

static CURL *
new_easy(genrpc__http_req *r, const genrpc__http_opts *o, const char *url, int64_t timeout_ms)
{
    CURL *e = curl_easy_init();
    if (!e)
        return NULL;
    r->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (o->token) {
        char h[512];
        snprintf(h, sizeof h, "Authorization: %s", o->token);
        r->headers = curl_slist_append(r->headers, h);
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->err);
    curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)o->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 2L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (o->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    if (o->cert_file)
        curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert_file);
    if (o->key_file)
        curl_easy_setopt(e, CURLOPT_SSLKEY, o->key_file);
    return e;
}

static void
release(genrpc__http_req *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->body);
    free(r->buf);
    void (*on_line)(void *, char *, size_t) = r->on_line;
    void *arg = r->arg;
    memset(r, 0, sizeof *r);
    r->on_line = on_line; /* the stream's wiring outlives one request */
    r->arg = arg;
}

int
genrpc__http_start(CURLM *multi, genrpc__http_req *r, const genrpc__http_opts *o,
                   const char *url, char *body, int64_t timeout_ms)
{
    genrpc__http_end(multi, r);
    r->body = body;
    r->easy = body ? new_easy(r, o, url, timeout_ms) : NULL;
    if (!r->easy || curl_multi_add_handle(multi, r->easy) != CURLM_OK) {
        release(r);
        snprintf(r->err, sizeof r->err, "no memory for a request to %s", url);
        return -1;
    }
    return 0;
}

int
genrpc__http_result(genrpc__http_req *r, CURLcode code)
{
    if (code != CURLE_OK) {
        if (r->too_big)
            snprintf(r->err, sizeof r->err, "reply larger than %zu bytes", HTTP_REPLY_MAX);
        else if (!r->err[0])
            snprintf(r->err, sizeof r->err, "%s", curl_easy_strerror(code));
        return -1;
    }
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200) {
        snprintf(r->err, sizeof r->err, "HTTP %ld: %.200s", status, r->buf ? r->buf : "");
        return -1;
    }
    if (!r->buf && !append(r, "", 0)) {
        snprintf(r->err, sizeof r->err, "no memory for a reply");
        return -1;
    }
    return 0;
}

void
genrpc__http_end(CURLM *multi, genrpc__http_req *r)
{
    if (r->easy)
        curl_multi_remove_handle(multi, r->easy);
    release(r);
}

int
genrpc__http_post_now(const genrpc__http_opts *o, const char *url, char *body,
                      int64_t timeout_ms, char *err, size_t errlen)
{
    genrpc__http_req r = {.body = body};
    r.easy = body ? new_easy(&r, o, url, timeout_ms) : NULL;
    int rc = -1;
    if (r.easy)
        rc = genrpc__http_result(&r, curl_easy_perform(r.easy));
    snprintf(err, errlen, "%s", r.easy ? r.err : "no memory");
    release(&r);
    return rc;
}
