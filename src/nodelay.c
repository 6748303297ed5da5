/*
 * nodelay: turns on TCP_NODELAY for every TCP connection the program
 * makes, by defining connect() itself. libESMTP 1.1 writes the end of each
 * message (".\r\n") as a small separate write and never sets TCP_NODELAY,
 * so Nagle's algorithm holds that write until the server's delayed ACK
 * (about 40 ms): about 23 messages/s per connection, whatever the server.
 * libESMTP exposes no socket and no hook before or after connect(), so the
 * option has to be set from inside connect().
 *
 * How: a connect() defined in the executable comes first in the dynamic
 * linker's lookup order, so libESMTP's call reaches it without LD_PRELOAD;
 * it sets the option and calls the next connect() found by
 * dlsym(RTLD_NEXT) — libc's, or the sanitizer's interceptor in the
 * --enable-sanitizers build, which then calls libc's. Other libraries'
 * TCP connections (IMAP, HTTP) get TCP_NODELAY too, which suits them:
 * they write whole buffers.
 *
 * Why this file is not in libtemabrev.a: an archive member is linked only
 * when something refers to one of its symbols, and nothing in the program
 * refers to connect() (libc also defines it), so the member would be left
 * out silently. Every program that sends mail lists src/nodelay.c among
 * its own sources.
 */
#define _GNU_SOURCE		/* RTLD_NEXT */
#include "config.h"

/*
 * With _GNU_SOURCE, glibc declares connect() with a transparent union in
 * place of const struct sockaddr *, which would conflict with the plain
 * POSIX definition below. The system headers are read with the name
 * renamed, and connect() is declared here with its POSIX type (same ABI).
 */
#define connect nodelay_system_connect
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#undef connect

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>

int	connect(int, const struct sockaddr *, socklen_t);

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static connect_fn	real_connect;
static pthread_once_t	real_once = PTHREAD_ONCE_INIT;

/* Resolved once, and thread-safely: threads connect at the same time. */
static void
resolve(void)
{
	void *sym = dlsym(RTLD_NEXT, "connect");

	/* ISO C has no object-to-function pointer conversion; POSIX
	   guarantees the representations agree. */
	memcpy(&real_connect, &sym, sizeof real_connect);
}

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	int saved = errno, type = 0, one = 1;
	socklen_t tlen = sizeof type;

	pthread_once(&real_once, resolve);
	if (real_connect == NULL) {
		errno = ENOSYS;
		return -1;
	}
	/* Before connecting, so even the first segment goes out at once;
	   failures are ignored (the connection works either way). */
	if (sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 &&
	    type == SOCK_STREAM)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);
	errno = saved;
	return real_connect(fd, sa, len);
}
