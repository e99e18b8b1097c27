/*
 * fuzz_options - the generator's option decoder (codegen/options.h) on
 * arbitrary serialized ServiceOptions / MethodOptions. The first byte
 * picks which; the decoder must either succeed with values inside their
 * bounds or fail with a NUL-terminated message, never read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
    if (which & 1) {
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
