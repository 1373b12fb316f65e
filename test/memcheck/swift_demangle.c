/*
 * Preloaded after libasan by test/memcheck/asan.sh. The server is not
 * instrumented, so libasan starts at the first malloc, which on Debian 12 is
 * inside libp11-kit's constructor (loaded through libldap and GnuTLS) while
 * newlocale() holds glibc's locale lock. ASan's start looks up
 * swift_demangle and, when it is missing, calls dlerror(), whose gettext
 * takes that lock again and corrupts it: the next setlocale() hangs. With
 * this symbol present the lookup succeeds and dlerror() has nothing to say.
 */
#include <stddef.h>
#include <stdint.h>

char	   *swift_demangle(const char *mangled, size_t len, char *out, size_t *outlen, uint32_t flags);

/* Never demangles: ASan prints the name as it is. */
char *
swift_demangle(const char *mangled, size_t len, char *out, size_t *outlen, uint32_t flags)
{
	return NULL;
}
