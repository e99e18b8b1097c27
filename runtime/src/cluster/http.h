/*
 * http.h - one HTTP POST to etcd's JSON gateway, driven by a libcurl multi
 * handle that its owner (session.c) runs on its own thread: a unary
 * request collects its reply body; a streaming one (the watch) hands each
 * complete line to a function as it arrives.
 */
#ifndef GENRPC_CLUSTER_HTTP_H
#define GENRPC_CLUSTER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

/* What every request to one etcd cluster shares. */
typedef struct genrpc__http_opts {
    const char *ca_file, *cert_file, *key_file; /* NULL: curl's defaults / none */
    const char *token;       /* etcd auth token (the Authorization header), or NULL */
    int64_t connect_timeout_ms;
} genrpc__http_opts;

typedef struct genrpc__http_req {
    CURL *easy;              /* NULL: idle */
    struct curl_slist *headers;
    char *body;              /* the request body (owned) */
    char *buf;               /* the reply so far (unary) / the partial line (stream) */
    size_t len, cap;
    bool too_big;            /* the reply outgrew the limit: failed */
    /* streaming: each complete line, as it arrives (NUL-terminated) */
    void (*on_line)(void *arg, char *line, size_t len);
    void *arg;
    char err[CURL_ERROR_SIZE];
} genrpc__http_req;

/* Starts POSTing `body` (taken: freed with r) to url on multi. timeout_ms
 * 0: none (streams). 0 on success, -1 with r->err set. */
int genrpc__http_start(CURLM *multi, genrpc__http_req *r, const genrpc__http_opts *o,
                       const char *url, char *body, int64_t timeout_ms);

/* After curl reported r's transfer done with `code`: 0 if it answered
 * HTTP 200 (r->buf holds the reply, NUL-terminated), else -1 with r->err
 * saying why. */
int genrpc__http_result(genrpc__http_req *r, CURLcode code);

/* Takes r off multi and frees what it holds; r is idle again. No-op on an
 * idle r. */
void genrpc__http_end(CURLM *multi, genrpc__http_req *r);

/* Runs one request to its end on a handle of its own (blocking this thread
 * for at most timeout_ms): for the last words on the way out. */
int genrpc__http_post_now(const genrpc__http_opts *o, const char *url, char *body,
                          int64_t timeout_ms, char *err, size_t errlen);

#endif /* GENRPC_CLUSTER_HTTP_H */
