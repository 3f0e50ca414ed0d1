/* A tiny in-process Zadig for unit tests: libmicrohttpd on 127.0.0.1 (an
 * ephemeral port, a thread per connection) that answers each request from
 * a route table the test fills and records what it was asked. One per
 * test program, started and stopped around each test. */
#ifndef ZH_TESTS_UNIT_ZADIG_STUB_H
#define ZH_TESTS_UNIT_ZADIG_STUB_H

/* Start the server; returns its port. Fails the test when it cannot. */
unsigned short stub_start(void);

/* Stop the server and forget its routes and requests. */
void stub_stop(void);

/* Answer method and path (a trailing '*' makes path a prefix; the query
 * is not part of it) with status and the printf-formatted body, after
 * delay_ms, times times (-1: always). The first route that fits is
 * taken; a request no route fits gets 404 "404 page not found". */
void stub_route(const char *method, const char *path, unsigned status,
		int times, long delay_ms, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* Forget every route and every request. */
void stub_reset(void);

/* How many requests fitted method and path (as in a route). */
int stub_asked(const char *method, const char *path);

/* How many of those had exactly the query arguments query ("k=v&k=v",
 * decoded, in the order sent; NULL: any). */
int stub_asked_query(const char *method, const char *path, const char *query);

/* Sleep ms milliseconds. */
void stub_sleep_ms(long ms);

#endif
