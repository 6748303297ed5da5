/*
 * nodelay-preload: an LD_PRELOAD shim for bench/send that turns on
 * TCP_NODELAY for every TCP connection a peer program makes (mlmmj-send).
 * Like libESMTP, mlmmj leaves Nagle's algorithm on, and a small write at
 * the end of a message then waits for the server's delayed ACK (about
 * 40 ms): about 22 messages/s on its one connection, whatever the server.
 * With this shim the comparison is of the programs, not of a socket
 * option. temabrev does the same from inside (src/nodelay.c); this file
 * is not part of temabrev's build.
 *
 * Built by bench/send:
 *   gcc -shared -fPIC -O2 -o OUT/nodelay-preload.so bench/nodelay-preload.c -ldl
 * Used as LD_PRELOAD=OUT/nodelay-preload.so /usr/bin/mlmmj-receive ...
 * (inherited by mlmmj-process and mlmmj-send, which mlmmj-receive execs).
 */
#define _GNU_SOURCE		/* RTLD_NEXT */

/* glibc's connect() prototype under _GNU_SOURCE takes a transparent
   union; read the headers with the name renamed and declare the POSIX
   one (same ABI). */
#define connect nodelay_system_connect
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#undef connect

#include <dlfcn.h>
#include <errno.h>
#include <string.h>

int	connect(int, const struct sockaddr *, socklen_t);

int
connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	static int (*real)(int, const struct sockaddr *, socklen_t);
	int saved = errno, type = 0, one = 1;
	socklen_t tlen = sizeof type;

	if (real == NULL) {	/* mlmmj is single-threaded */
		void *sym = dlsym(RTLD_NEXT, "connect");

		memcpy(&real, &sym, sizeof real);
		if (real == NULL) {
			errno = ENOSYS;
			return -1;
		}
	}
	if (sa != NULL && (sa->sa_family == AF_INET ||
	    sa->sa_family == AF_INET6) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 &&
	    type == SOCK_STREAM)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof one);
	errno = saved;
	return real(fd, sa, len);
}
