/*
 * metadata.c - genrpc_metadata: building, reading and copying metadata
 * sets (call.h). The bytes are a metadata block exactly as the wire
 * carries it (wire/frame.h walks it).
 */
#include <stdlib.h>
#include <string.h>

#include "base/status.h"
#include "wire/frame.h"
#include "rpc/metadata.h"

int
genrpc_metadata_new(genrpc_metadata **out)
{
    if (!out)
        return GENRPC_E_INVAL;
    *out = calloc(1, sizeof **out);
    return *out ? GENRPC_OK : GENRPC_E_NOMEM;
}

void
genrpc__md_release(genrpc_metadata *md)
{
    if (md->cap)
        free(md->buf);
    md->buf = NULL;
    md->len = md->cap = 0;
}

void
genrpc_metadata_free(genrpc_metadata *md)
{
    if (!md)
        return;
    genrpc__md_release(md);
    free(md);
}

void
genrpc_metadata_clear(genrpc_metadata *md)
{
    if (md && md->cap)
        md->len = 0;
}

size_t
genrpc_metadata_count(const genrpc_metadata *md)
{
    size_t n = 0, pos = 0;
    genrpc__md_entry e;
    while (md && genrpc__md_next(genrpc__md_block(md), &pos, &e))
        n++;
    return n;
}

static bool
key_ok(const char *key, size_t len)
{
    if (len == 0 || len > GENRPC__MD_KEY_MAX || strncmp(key, "genrpc-", 7) == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = key[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
              ch == '-'))
            return false;
    }
    return true;
}

/* Room for `more` bytes in an owned set. */
static bool
reserve(genrpc_metadata *md, size_t more)
{
    if (md->len + more <= md->cap)
        return true;
    size_t cap = md->cap ? md->cap : 64;
    while (cap < md->len + more)
        cap *= 2;
    uint8_t *b = realloc(md->buf, cap);
    if (!b)
        return false;
    md->buf = b;
    md->cap = cap;
    return true;
}

static int
append_entry(genrpc_metadata *md, const char *key, size_t klen, const void *value, size_t len)
{
    size_t need = 1 + klen + 2 + len;
    if (md->len + need > GENRPC__MD_MAX_BYTES ||
        genrpc_metadata_count(md) >= GENRPC__MD_MAX_ENTRIES)
        return GENRPC_E_TOO_BIG;
    if (!reserve(md, need))
        return GENRPC_E_NOMEM;
    uint8_t *p = md->buf + md->len;
    p[0] = (uint8_t)klen;
    memcpy(p + 1, key, klen);
    genrpc__put_u16(p + 1 + klen, (uint16_t)len);
    if (len)
        memcpy(p + 3 + klen, value, len);
    md->len += need;
    return GENRPC_OK;
}

int
genrpc_metadata_add(genrpc_metadata *md, const char *key, const void *value, size_t len)
{
    if (!md || !key || (len && !value) || (md->buf && !md->cap))
        return GENRPC_E_INVAL;
    size_t klen = strlen(key);
    if (!key_ok(key, klen))
        return GENRPC_E_INVAL;
    if (len > GENRPC__MD_MAX_BYTES)
        return GENRPC_E_TOO_BIG;
    return append_entry(md, key, klen, value, len);
}

int
genrpc_metadata_add_str(genrpc_metadata *md, const char *key, const char *value)
{
    return genrpc_metadata_add(md, key, value, value ? strlen(value) : 0);
}

bool
genrpc_metadata_get(const genrpc_metadata *md, const char *key, const void **value, size_t *len)
{
    size_t pos = 0;
    genrpc__md_entry e;
    while (md && key && genrpc__md_next(genrpc__md_block(md), &pos, &e)) {
        if (genrpc__str_eq(e.key, key)) {
            if (value)
                *value = e.value;
            if (len)
                *len = e.value_len;
            return true;
        }
    }
    return false;
}

bool
genrpc_metadata_at(const genrpc_metadata *md, size_t i, char key[GENRPC_METADATA_KEY_MAX + 1],
                   const void **value, size_t *len)
{
    size_t pos = 0, n = 0;
    genrpc__md_entry e;
    while (md && genrpc__md_next(genrpc__md_block(md), &pos, &e)) {
        if (n++ != i)
            continue;
        if (key) {
            memcpy(key, e.key.p, e.key.len);
            key[e.key.len] = '\0';
        }
        if (value)
            *value = e.value;
        if (len)
            *len = e.value_len;
        return true;
    }
    return false;
}

int
genrpc_metadata_append(genrpc_metadata *dst, const genrpc_metadata *src)
{
    if (!dst || (dst->buf && !dst->cap))
        return GENRPC_E_INVAL;
    size_t pos = 0;
    genrpc__md_entry e;
    while (src && genrpc__md_next(genrpc__md_block(src), &pos, &e)) {
        int rc = append_entry(dst, e.key.p, e.key.len, e.value, e.value_len);
        if (rc != GENRPC_OK)
            return rc;
    }
    return GENRPC_OK;
}

int
genrpc__md_assign(genrpc_metadata *md, genrpc__str block)
{
    md->len = 0;
    if (!block.len)
        return GENRPC_OK;
    if (!reserve(md, block.len))
        return GENRPC_E_NOMEM;
    memcpy(md->buf, block.p, block.len);
    md->len = block.len;
    return GENRPC_OK;
}
