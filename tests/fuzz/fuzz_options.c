/*
 * fuzz_options - the generator's option decoder (codegen/options.h) on
 * arbitrary serialized ServiceOptions / MethodOptions, and embedded mode's
 * reader of nanopb .options text (codegen/nanopb.h). The first byte picks
 * which (low two bits: 0 service, 1 method, 2 .options text, 3 method); the
 * decoder must either succeed with values inside their bounds or fail with
 * a NUL-terminated message, never read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nanopb.h"
#include "options.h"

#define CHECK(x)                                                                               \
    do {                                                                                       \
        if (!(x))                                                                              \
            __builtin_trap();                                                                  \
    } while (0)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t which = data[0];
    size_t n = size - 1;
    uint8_t *buf = malloc(n ? n : 1); /* exact size: ASan sees overreads */
    if (!buf)
        return 0;
    memcpy(buf, data + 1, n);
    char err[CG_OPT_ERR_MAX];
    memset(err, 'x', sizeof err);
    if ((which & 3) == 2) {
        char *text = malloc(n + 1);
        cg_nanopb_file f;
        cg_strbuf msg = CG_STRBUF_INIT;
        if (text) {
            memcpy(text, buf, n);
            text[n] = '\0';
            int rc = cg_nanopb_parse("fuzz.options", text, &f, &msg);
            CHECK(rc == 0 || rc == -1);
            CHECK(rc == 0 || msg.len > 0);
            for (size_t i = 0; rc == 0 && i < f.n_rules; i++) {
                CHECK(f.rules[i].mask != NULL && f.rules[i].mask[0] != '\0');
                CHECK(f.rules[i].max_size >= -1 && f.rules[i].max_count >= -1);
                CHECK(f.rules[i].type >= -1 && f.rules[i].type <= CG_FT_INLINE);
            }
            cg_nanopb_free(&f);
            cg_strbuf_free(&msg);
            free(text);
        }
    } else if (which & 1) {
        cg_method_options m;
        int rc = cg_method_options_parse(buf, n, &m, err);
        CHECK(rc == 0 || rc == -1);
        if (rc == -1)
            CHECK(memchr(err, '\0', sizeof err) != NULL);
        else
            CHECK(m.internal == 0 || m.internal == 1);
    } else {
        cg_service_options s;
        int rc = cg_service_options_parse(buf, n, &s, err);
        CHECK(rc == 0 || rc == -1);
        if (rc == -1) {
            CHECK(memchr(err, '\0', sizeof err) != NULL);
        } else if (s.has_module) {
            CHECK(s.module_len <= CG_MODULE_NAME_MAX);
            CHECK(s.module[s.module_len] == '\0');
        }
    }
    free(buf);
    return 0;
}
