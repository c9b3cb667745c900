/*
 * openloop: an open-loop (fixed-rate, wrk2-style) HTTP/1.1 load generator.
 *
 *   openloop --url http://127.0.0.1:8080/graphql --body-file body.json --rate 2000 --connections 50
 *            --duration 5 [--warmup 1] [--header 'Name: value' ...] [--timeout 5]
 *
 * Method. A closed-loop generator (wrk) writes the next request on a connection only once the
 * previous response has arrived: when the server stalls, the generator stalls with it, and the
 * requests that would have been sent meanwhile are never measured ("coordinated omission"). Here
 * the schedule is fixed in advance instead: request i is INTENDED at t0 + i/R on CLOCK_MONOTONIC,
 * whatever the server does.
 *
 *  - A timerfd armed with TFD_TIMER_ABSTIME at the next intended time wakes the epoll loop (an
 *    epoll_wait timeout only has millisecond resolution); at each wake-up every request that is due
 *    is written. The timer slack is lowered to 1 ns so that wake-ups are on time to microseconds.
 *    The timerfd is never read: timerfd_settime() clears its expiration count when it is re-armed,
 *    which the loop does after every expiry (one system call per wake-up saved).
 *  - A due request goes on the idle keep-alive connection that has been idle longest (a FIFO of
 *    idle connections: every connection is used in turn, as by that many clients, so none sits
 *    idle until the server's keep-alive timeout closes it under a request). When none is idle it
 *    waits in a FIFO queue and is written on the next connection that becomes idle.
 *  - Latency = end of the response - INTENDED time, so time spent queued behind a slow server
 *    counts (the coordinated-omission correction). Service time = end of the response - actual
 *    write, reported separately.
 *  - Requests intended during the first --warmup seconds are sent but not recorded; then
 *    --duration seconds are measured. After the last intended time the loop waits up to --timeout
 *    seconds for the outstanding responses; any still missing count as timeouts. A request in
 *    flight for longer than --timeout also counts as a timeout (its connection is reopened).
 *
 * Single-threaded: one epoll set holds the timerfd and every socket (level-triggered). Responses
 * are parsed incrementally as bytes arrive (status line, headers, then a Content-Length body, a
 * chunked body or a body up to EOF). A connection the server closes (Connection: close, EOF,
 * reset) is reopened with a non-blocking connect; a request whose response was not complete on it
 * counts as a read error.
 *
 * Output: one JSON object on stdout. Exit status 2 for bad arguments, 1 for a runtime failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define NS_PER_S 1000000000ULL
#define NS_PER_MS 1000000.0
#define RETRY_NS (20ULL * 1000 * 1000) /* wait before reconnecting after a failed connect */
#define LINE_CAP 8192                  /* longest status, header, chunk-size or trailer line */
#define READ_CAP 65536
#define MAX_EVENTS 256
#define MAX_HEADERS 64
#define MAX_CONNECTIONS 20000
#define NONE UINT64_MAX

/* ---------------------------------------------------------------- errors and time */

static void usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("openloop: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nusage: openloop --url http://HOST:PORT/PATH --body-file FILE --rate R --connections C"
          " --duration S [--warmup S] [--header 'Name: value']... [--timeout S]\n", stderr);
    exit(2);
}

static void die(const char *what)
{
    fprintf(stderr, "openloop: %s: %s\n", what, strerror(errno));
    exit(1);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

/* ---------------------------------------------------------------- configuration */

struct config {
    const char *url;
    const char *body_file;
    double rate, duration, warmup, timeout;
    long connections;
    const char *headers[MAX_HEADERS];
    int n_headers;
    char host[256];
    char path[2048];
    int port;
};

static double parse_number(const char *name, const char *text, bool allow_zero)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || end == text || *end || !isfinite(v) || v < 0 || (!allow_zero && v == 0))
        usage_error("%s: expected a %s number, got '%s'", name, allow_zero ? "non-negative" : "positive", text);
    return v;
}

static void parse_url(struct config *cfg)
{
    const char *p = cfg->url;
    if (strncmp(p, "http://", 7) != 0)
        usage_error("--url must start with http://");
    p += 7;
    size_t host_len = strcspn(p, ":/");
    if (host_len == 0 || host_len >= sizeof cfg->host)
        usage_error("--url: bad host");
    memcpy(cfg->host, p, host_len);
    cfg->host[host_len] = '\0';
    p += host_len;
    cfg->port = 80;
    if (*p == ':') {
        char *end;
        long port = strtol(p + 1, &end, 10);
        if (end == p + 1 || port < 1 || port > 65535 || (*end && *end != '/'))
            usage_error("--url: bad port");
        cfg->port = (int)port;
        p = end;
    }
    if (strlen(p) >= sizeof cfg->path)
        usage_error("--url: path too long");
    strcpy(cfg->path, *p ? p : "/");
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
    *cfg = (struct config){.warmup = 0, .timeout = 5, .rate = -1, .duration = -1, .connections = -1};
    for (int i = 1; i < argc; i++) {
        const char *opt = argv[i];
        if (i + 1 >= argc)
            usage_error("%s needs a value", opt);
        const char *val = argv[++i];
        if (!strcmp(opt, "--url")) {
            cfg->url = val;
        } else if (!strcmp(opt, "--body-file")) {
            cfg->body_file = val;
        } else if (!strcmp(opt, "--rate")) {
            cfg->rate = parse_number(opt, val, false);
        } else if (!strcmp(opt, "--duration")) {
            cfg->duration = parse_number(opt, val, false);
        } else if (!strcmp(opt, "--warmup")) {
            cfg->warmup = parse_number(opt, val, true);
        } else if (!strcmp(opt, "--timeout")) {
            cfg->timeout = parse_number(opt, val, false);
        } else if (!strcmp(opt, "--connections")) {
            char *end;
            cfg->connections = strtol(val, &end, 10);
            if (end == val || *end || cfg->connections < 1 || cfg->connections > MAX_CONNECTIONS)
                usage_error("--connections: expected 1..%d, got '%s'", MAX_CONNECTIONS, val);
        } else if (!strcmp(opt, "--header")) {
            const char *colon = strchr(val, ':');
            if (!colon || colon == val || strpbrk(val, "\r\n"))
                usage_error("--header: expected 'Name: value', got '%s'", val);
            if (!strncasecmp(val, "Content-Length:", 15))
                usage_error("--header: Content-Length comes from --body-file");
            if (cfg->n_headers == MAX_HEADERS)
                usage_error("--header: at most %d", MAX_HEADERS);
            cfg->headers[cfg->n_headers++] = val;
        } else {
            usage_error("unknown option %s", opt);
        }
    }
    if (!cfg->url || !cfg->body_file || cfg->rate < 0 || cfg->duration < 0 || cfg->connections < 0)
        usage_error("--url, --body-file, --rate, --connections and --duration are required");
    if (cfg->rate * cfg->duration < 1)
        usage_error("--rate x --duration is less than one request");
    if ((cfg->warmup + cfg->duration) * cfg->rate > 1e9)
        usage_error("more than 10^9 requests");
    parse_url(cfg);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        usage_error("--body-file %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf)
            die("malloc");
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        cap *= 2;
        buf = realloc(buf, cap);
    }
    if (ferror(f))
        usage_error("--body-file %s: read error", path);
    fclose(f);
    *len = n;
    return buf;
}

/* Is a default header (Host, Content-Type, User-Agent) replaced by a --header of the same name? */
static bool overridden(const struct config *cfg, const char *name)
{
    size_t len = strlen(name);
    for (int i = 0; i < cfg->n_headers; i++)
        if (!strncasecmp(cfg->headers[i], name, len) && cfg->headers[i][len] == ':')
            return true;
    return false;
}

/* The request's bytes, identical for every request: built once. */
static char *build_request(const struct config *cfg, const char *body, size_t body_len, size_t *len)
{
    size_t cap = 4096 + strlen(cfg->path) + body_len;
    for (int i = 0; i < cfg->n_headers; i++)
        cap += strlen(cfg->headers[i]) + 2;
    char *req = malloc(cap);
    if (!req)
        die("malloc");
    size_t n = (size_t)snprintf(req, cap, "POST %s HTTP/1.1\r\n", cfg->path);
    if (!overridden(cfg, "Host"))
        n += (size_t)snprintf(req + n, cap - n, "Host: %s:%d\r\n", cfg->host, cfg->port);
    if (!overridden(cfg, "Content-Type"))
        n += (size_t)snprintf(req + n, cap - n, "Content-Type: application/json\r\n");
    if (!overridden(cfg, "User-Agent"))
        n += (size_t)snprintf(req + n, cap - n, "User-Agent: openloop\r\n");
    for (int i = 0; i < cfg->n_headers; i++)
        n += (size_t)snprintf(req + n, cap - n, "%s\r\n", cfg->headers[i]);
    n += (size_t)snprintf(req + n, cap - n, "Content-Length: %zu\r\n\r\n", body_len);
    memcpy(req + n, body, body_len);
    *len = n + body_len;
    return req;
}

static struct sockaddr_in resolve(const struct config *cfg)
{
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
    int rc = getaddrinfo(cfg->host, NULL, &hints, &res);
    if (rc != 0)
        usage_error("--url: cannot resolve %s: %s", cfg->host, gai_strerror(rc));
    struct sockaddr_in addr;
    memcpy(&addr, res->ai_addr, sizeof addr);
    addr.sin_port = htons((uint16_t)cfg->port);
    freeaddrinfo(res);
    return addr;
}

/* ---------------------------------------------------------------- incremental response parser */

enum parse_state {
    P_STATUS,      /* waiting for the status line */
    P_HEADERS,     /* header lines until an empty line */
    P_BODY_LENGTH, /* `remaining` bytes of a Content-Length body */
    P_CHUNK_SIZE,  /* a chunk-size line (hex, optional ;extensions) */
    P_CHUNK_DATA,  /* `remaining` bytes of chunk data */
    P_CHUNK_END,   /* the CRLF after chunk data */
    P_TRAILERS,    /* trailer lines after the last chunk, until an empty line */
    P_BODY_EOF,    /* no length: the body runs until the server closes */
    P_DONE,
};

enum feed_result { FEED_MORE, FEED_DONE, FEED_ERROR };

struct response {
    enum parse_state state;
    int status;
    bool keep_alive, chunked, has_length;
    uint64_t remaining;
    size_t line_len;
    char line[LINE_CAP];
};

static void response_reset(struct response *r)
{
    r->state = P_STATUS;
    r->status = 0;
    r->keep_alive = true;
    r->chunked = r->has_length = false;
    r->remaining = 0;
    r->line_len = 0;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* "HTTP/1.x SSS reason" */
static enum feed_result parse_status_line(struct response *r, const char *line)
{
    if (strncmp(line, "HTTP/1.", 7) || !is_digit(line[7]) || line[8] != ' ' || !is_digit(line[9]) ||
        !is_digit(line[10]) || !is_digit(line[11]) || (line[12] && line[12] != ' '))
        return FEED_ERROR;
    r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    if (r->status < 100)
        return FEED_ERROR;
    r->keep_alive = line[7] != '0'; /* HTTP/1.0 closes unless it says keep-alive */
    r->state = P_HEADERS;
    return FEED_MORE;
}

static enum feed_result parse_header(struct response *r, char *line)
{
    char *colon = strchr(line, ':');
    if (!colon)
        return FEED_ERROR;
    *colon = '\0';
    const char *value = colon + 1;
    value += strspn(value, " \t");
    if (!strcasecmp(line, "content-length")) {
        char *end;
        errno = 0;
        unsigned long long len = strtoull(value, &end, 10);
        if (errno || end == value || value[0] == '-')
            return FEED_ERROR;
        r->has_length = true;
        r->remaining = len;
    } else if (!strcasecmp(line, "transfer-encoding")) {
        r->chunked = strcasestr(value, "chunked") != NULL;
    } else if (!strcasecmp(line, "connection")) {
        if (strcasestr(value, "close"))
            r->keep_alive = false;
        else if (strcasestr(value, "keep-alive"))
            r->keep_alive = true;
    }
    return FEED_MORE;
}

static enum feed_result end_of_headers(struct response *r)
{
    if (r->status / 100 == 1) { /* an interim response (100 Continue): the real one follows */
        bool keep_alive = r->keep_alive;
        response_reset(r);
        r->keep_alive = keep_alive;
        return FEED_MORE;
    }
    if (r->status == 204 || r->status == 304) {
        r->state = P_DONE;
    } else if (r->chunked) {
        r->state = P_CHUNK_SIZE;
    } else if (r->has_length) {
        r->state = r->remaining ? P_BODY_LENGTH : P_DONE;
    } else {
        r->state = P_BODY_EOF;
        r->keep_alive = false;
    }
    return r->state == P_DONE ? FEED_DONE : FEED_MORE;
}

static enum feed_result parse_chunk_size(struct response *r, const char *line)
{
    char *end;
    errno = 0;
    unsigned long long size = strtoull(line, &end, 16);
    if (errno || end == line || line[0] == '-')
        return FEED_ERROR;
    end += strspn(end, " \t");
    if (*end && *end != ';') /* anything after the size must be a chunk extension */
        return FEED_ERROR;
    if (size == 0) {
        r->state = P_TRAILERS;
    } else {
        r->state = P_CHUNK_DATA;
        r->remaining = size;
    }
    return FEED_MORE;
}

/* One complete line (CRLF or LF stripped, NUL-terminated) in a line-oriented state. */
static enum feed_result on_line(struct response *r, char *line, size_t len)
{
    switch (r->state) {
    case P_STATUS:
        if (len == 0) /* tolerate a stray empty line before the status line */
            return FEED_MORE;
        return parse_status_line(r, line);
    case P_HEADERS:
        return len == 0 ? end_of_headers(r) : parse_header(r, line);
    case P_CHUNK_SIZE:
        return parse_chunk_size(r, line);
    case P_CHUNK_END:
        if (len != 0)
            return FEED_ERROR;
        r->state = P_CHUNK_SIZE;
        return FEED_MORE;
    case P_TRAILERS:
        if (len != 0)
            return FEED_MORE; /* a trailer field: ignored */
        r->state = P_DONE;
        return FEED_DONE;
    default:
        return FEED_ERROR;
    }
}

/* Skip body bytes of a known length; returns how many of `n` were consumed. */
static size_t consume_body(struct response *r, size_t n)
{
    size_t take = (size_t)min_u64(r->remaining, n);
    r->remaining -= take;
    if (r->remaining == 0)
        r->state = r->state == P_BODY_LENGTH ? P_DONE : P_CHUNK_END;
    return take;
}

/* Feed bytes read from the socket. Bytes after the end of the response are ignored. */
static enum feed_result feed(struct response *r, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n && r->state != P_DONE) {
        if (r->state == P_BODY_LENGTH || r->state == P_CHUNK_DATA) {
            i += consume_body(r, n - i);
            continue;
        }
        if (r->state == P_BODY_EOF)
            return FEED_MORE;
        const char *nl = memchr(p + i, '\n', n - i);
        size_t take = nl ? (size_t)(nl - (p + i)) : n - i;
        if (r->line_len + take >= LINE_CAP)
            return FEED_ERROR;
        memcpy(r->line + r->line_len, p + i, take);
        r->line_len += take;
        i += take;
        if (!nl)
            break;
        i++; /* the '\n' */
        size_t len = r->line_len;
        if (len && r->line[len - 1] == '\r')
            len--;
        r->line[len] = '\0';
        r->line_len = 0;
        if (on_line(r, r->line, len) == FEED_ERROR)
            return FEED_ERROR;
    }
    return r->state == P_DONE ? FEED_DONE : FEED_MORE;
}

/* ---------------------------------------------------------------- state */

struct request {
    uint64_t intended; /* ns, CLOCK_MONOTONIC */
    bool measured;     /* false during the warm-up */
    bool queued;       /* waited for a connection */
};

enum conn_state { C_DOWN, C_CONNECTING, C_IDLE, C_BUSY };

struct conn {
    int fd;
    enum conn_state state;
    uint64_t since;   /* C_DOWN: when to reconnect; C_CONNECTING: connect() time; C_BUSY: write time */
    struct request req;
    size_t written;   /* bytes of the request written so far */
    uint32_t events;  /* registered epoll events */
    struct response resp;
};

struct queue { /* FIFO ring of requests waiting for an idle connection */
    struct request *items;
    size_t head, len, cap;
};

struct samples {
    uint64_t *v;
    size_t n, cap;
};

struct stats {
    uint64_t scheduled, sent, completed, warmup_sent;
    uint64_t err_connect, err_read, err_timeout, err_status;
    uint64_t queued, max_queue;
    uint64_t max_send_lag, max_queue_wait, last_complete;
    struct samples latency, service, send_lag; /* send_lag: intended -> write, requests that did not queue */
};

static struct {
    struct config cfg;
    struct sockaddr_in addr;
    char *request;
    size_t request_len;
    int epfd, tfd;
    struct conn *conns;
    struct conn **idle; /* FIFO ring of idle connections, capacity cfg.connections */
    size_t idle_head, n_idle;
    size_t n_busy;
    struct queue queue;
    struct stats st;
    bool running;              /* false while the connections are first opened */
    uint64_t t0, measure_start, drain_deadline, connect_deadline;
    double interval_ns;
    uint64_t next_i, n_warm, n_total;
    uint64_t timeout_ns;
    uint64_t armed_at;         /* the timerfd's current expiry, 0 when it fired or is disarmed */
} g;

static uint64_t intended(uint64_t i) { return g.t0 + (uint64_t)((double)i * g.interval_ns + 0.5); }

static void samples_push(struct samples *s, uint64_t v)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        if (!s->v)
            die("realloc");
    }
    s->v[s->n++] = v;
}

static void queue_push(struct request req)
{
    struct queue *q = &g.queue;
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        struct request *items = malloc(cap * sizeof *items);
        if (!items)
            die("malloc");
        for (size_t i = 0; i < q->len; i++)
            items[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        *q = (struct queue){.items = items, .head = 0, .len = q->len, .cap = cap};
    }
    q->items[(q->head + q->len) % q->cap] = req;
    q->len++;
}

static struct request queue_pop(void)
{
    struct queue *q = &g.queue;
    struct request req = q->items[q->head];
    q->head = (q->head + 1) % q->cap;
    q->len--;
    return req;
}

/* ---------------------------------------------------------------- connections */

static void set_events(struct conn *c, uint32_t events)
{
    if (c->events == events)
        return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(g.epfd, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0)
        die("epoll_ctl");
    c->events = events;
}

static struct conn **idle_at(size_t k) { return &g.idle[(g.idle_head + k) % (size_t)g.cfg.connections]; }

static void idle_push(struct conn *c) { *idle_at(g.n_idle++) = c; }

static struct conn *idle_pop(void)
{
    struct conn *c = *idle_at(0);
    g.idle_head = (g.idle_head + 1) % (size_t)g.cfg.connections;
    g.n_idle--;
    return c;
}

static void idle_remove(struct conn *c)
{
    for (size_t k = 0; k < g.n_idle; k++)
        if (*idle_at(k) == c) {
            for (; k + 1 < g.n_idle; k++) /* keep the order of the others */
                *idle_at(k) = *idle_at(k + 1);
            g.n_idle--;
            return;
        }
}

static void conn_close(struct conn *c)
{
    if (c->state == C_IDLE)
        idle_remove(c);
    if (c->state == C_BUSY)
        g.n_busy--;
    if (c->fd >= 0)
        close(c->fd); /* also removes it from the epoll set */
    c->fd = -1;
    c->events = 0;
    c->state = C_DOWN;
}

static void connect_failed(struct conn *c)
{
    g.st.err_connect++;
    conn_close(c);
    c->since = now_ns() + RETRY_NS;
}

/* Start a non-blocking connect; completion (or failure) is reported by EPOLLOUT. */
static void conn_open(struct conn *c)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        connect_failed(c);
        return;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->state = C_CONNECTING;
    c->since = now_ns();
    if (connect(c->fd, (struct sockaddr *)&g.addr, sizeof g.addr) < 0 && errno != EINPROGRESS) {
        connect_failed(c);
        return;
    }
    set_events(c, EPOLLOUT);
}

static void conn_reopen(struct conn *c)
{
    conn_close(c);
    conn_open(c);
}

static void dispatch(struct conn *c, struct request req);

/* The connection is free: take the oldest queued request, or wait at the back of the idle ring. */
static void conn_ready(struct conn *c)
{
    if (g.queue.len) {
        dispatch(c, queue_pop());
        return;
    }
    c->state = C_IDLE;
    idle_push(c);
}

static void finish_connect(struct conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
        connect_failed(c);
        return;
    }
    set_events(c, EPOLLIN);
    conn_ready(c);
}

/* ---------------------------------------------------------------- requests */

enum failure { F_READ, F_TIMEOUT };

/* The request in flight on `c` will get no (complete) response: count it and reopen the connection. */
static void request_failed(struct conn *c, enum failure why)
{
    if (c->req.measured) {
        if (why == F_TIMEOUT)
            g.st.err_timeout++;
        else
            g.st.err_read++;
    }
    conn_reopen(c);
}

static void write_request(struct conn *c)
{
    while (c->written < g.request_len) {
        ssize_t n = send(c->fd, g.request + c->written, g.request_len - c->written, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                set_events(c, EPOLLIN | EPOLLOUT);
                return;
            }
            request_failed(c, F_READ);
            return;
        }
        c->written += (size_t)n;
    }
    set_events(c, EPOLLIN);
}

static void dispatch(struct conn *c, struct request req)
{
    c->state = C_BUSY;
    c->req = req;
    c->written = 0;
    c->since = now_ns();
    response_reset(&c->resp);
    g.n_busy++;
    if (req.measured) {
        uint64_t lag = c->since > req.intended ? c->since - req.intended : 0;
        uint64_t *max = req.queued ? &g.st.max_queue_wait : &g.st.max_send_lag;
        if (lag > *max)
            *max = lag;
        if (!req.queued)
            samples_push(&g.st.send_lag, lag);
        g.st.sent++;
    } else {
        g.st.warmup_sent++;
    }
    write_request(c);
}

static void submit(struct request req)
{
    if (g.n_idle && !g.queue.len) {
        dispatch(idle_pop(), req);
        return;
    }
    req.queued = true;
    queue_push(req);
    if (req.measured) {
        g.st.queued++;
        if (g.queue.len > g.st.max_queue)
            g.st.max_queue = g.queue.len;
    }
}

static void request_complete(struct conn *c)
{
    uint64_t done = now_ns();
    struct request *req = &c->req;
    if (req->measured) {
        g.st.completed++;
        if (c->resp.status / 100 != 2)
            g.st.err_status++;
        samples_push(&g.st.latency, done - req->intended);
        samples_push(&g.st.service, done - c->since);
        g.st.last_complete = done;
    }
    g.n_busy--;
    /* A response before the whole request was written (an early error) leaves the stream unusable. */
    if (c->resp.keep_alive && c->written == g.request_len) {
        conn_ready(c);
    } else {
        c->state = C_DOWN; /* already counted out of n_busy */
        conn_reopen(c);
    }
}

static void on_readable(struct conn *c)
{
    char buf[READ_CAP];
    ssize_t n = recv(c->fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        return;
    if (n > 0) {
        if (c->state != C_BUSY)
            return; /* bytes nobody asked for: ignored */
        enum feed_result r = feed(&c->resp, buf, (size_t)n);
        if (r == FEED_DONE)
            request_complete(c);
        else if (r == FEED_ERROR)
            request_failed(c, F_READ);
        return;
    }
    /* EOF or a socket error */
    if (c->state != C_BUSY)
        conn_reopen(c); /* an idle keep-alive connection the server closed */
    else if (n == 0 && c->resp.state == P_BODY_EOF)
        request_complete(c);
    else
        request_failed(c, F_READ);
}

static void on_event(struct conn *c, uint32_t events)
{
    if (c->state == C_CONNECTING) {
        finish_connect(c);
        return;
    }
    if ((events & EPOLLOUT) && c->state == C_BUSY && c->written < g.request_len) {
        write_request(c);
        if (c->state != C_BUSY)
            return; /* the write failed and the connection is being reopened */
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
        on_readable(c);
}

/* ---------------------------------------------------------------- the loop */

static void send_due(uint64_t now)
{
    while (g.next_i < g.n_total) {
        uint64_t t = intended(g.next_i);
        if (t > now)
            break;
        struct request req = {.intended = t, .measured = g.next_i >= g.n_warm, .queued = false};
        g.next_i++;
        if (req.measured)
            g.st.scheduled++;
        submit(req);
    }
}

/* Reconnect connections whose retry time has come; time out connects and requests. */
static void check_connections(uint64_t now)
{
    for (long i = 0; i < g.cfg.connections; i++) {
        struct conn *c = &g.conns[i];
        if (c->state == C_DOWN && c->since <= now)
            conn_open(c);
        else if (c->state == C_CONNECTING && now >= c->since + g.timeout_ns)
            connect_failed(c);
        else if (c->state == C_BUSY && now >= c->since + g.timeout_ns)
            request_failed(c, F_TIMEOUT);
    }
}

static uint64_t next_deadline(void)
{
    uint64_t t = NONE;
    if (g.running) {
        if (g.next_i < g.n_total)
            t = intended(g.next_i);
        t = min_u64(t, g.drain_deadline);
    } else {
        t = g.connect_deadline;
    }
    for (long i = 0; i < g.cfg.connections; i++) {
        const struct conn *c = &g.conns[i];
        if (c->state == C_DOWN)
            t = min_u64(t, c->since);
        else if (c->state == C_CONNECTING || c->state == C_BUSY)
            t = min_u64(t, c->since + g.timeout_ns);
    }
    return t;
}

static void arm_timer(uint64_t at)
{
    if (at == g.armed_at)
        return;
    struct itimerspec its = {0};
    if (at != NONE) {
        its.it_value.tv_sec = (time_t)(at / NS_PER_S);
        its.it_value.tv_nsec = (long)(at % NS_PER_S);
        if (at == 0)
            its.it_value.tv_nsec = 1; /* zero would disarm */
    }
    if (timerfd_settime(g.tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
        die("timerfd_settime");
    g.armed_at = at;
}

static bool connect_phase_done(uint64_t now)
{
    if (now >= g.connect_deadline)
        return true;
    for (long i = 0; i < g.cfg.connections; i++)
        if (g.conns[i].state == C_CONNECTING)
            return false;
    return true;
}

static bool run_done(uint64_t now)
{
    if (g.next_i < g.n_total)
        return false;
    return (g.n_busy == 0 && g.queue.len == 0) || now >= g.drain_deadline;
}

static void event_loop(bool (*done)(uint64_t now))
{
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        uint64_t now = now_ns();
        if (g.running)
            send_due(now);
        check_connections(now);
        if (done(now))
            return;
        arm_timer(next_deadline());
        int n = epoll_wait(g.epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL)
                g.armed_at = 0; /* fired: the next arm_timer() re-arms it, which also clears it */
            else
                on_event(events[i].data.ptr, events[i].events);
        }
    }
}

/* Requests still in flight or queued when the wait for them ended. */
static void count_unfinished(void)
{
    for (long i = 0; i < g.cfg.connections; i++)
        if (g.conns[i].state == C_BUSY && g.conns[i].req.measured)
            g.st.err_timeout++;
    while (g.queue.len)
        if (queue_pop().measured)
            g.st.err_timeout++;
}

static void setup(int argc, char **argv)
{
    parse_args(argc, argv, &g.cfg);
    size_t body_len;
    char *body = read_file(g.cfg.body_file, &body_len);
    g.request = build_request(&g.cfg, body, body_len, &g.request_len);
    free(body);
    g.addr = resolve(&g.cfg);
    g.interval_ns = (double)NS_PER_S / g.cfg.rate;
    g.n_warm = (uint64_t)ceil(g.cfg.warmup * g.cfg.rate - 1e-9);
    g.n_total = (uint64_t)ceil((g.cfg.warmup + g.cfg.duration) * g.cfg.rate - 1e-9);
    g.timeout_ns = (uint64_t)(g.cfg.timeout * (double)NS_PER_S);

    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0); /* hrtimer wake-ups on time, not up to 50 us late */
    g.epfd = epoll_create1(EPOLL_CLOEXEC);
    g.tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (g.epfd < 0 || g.tfd < 0)
        die("epoll/timerfd");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(g.epfd, EPOLL_CTL_ADD, g.tfd, &ev) < 0)
        die("epoll_ctl timerfd");
    g.conns = calloc((size_t)g.cfg.connections, sizeof *g.conns);
    g.idle = calloc((size_t)g.cfg.connections, sizeof *g.idle);
    if (!g.conns || !g.idle)
        die("calloc");
}

/* ---------------------------------------------------------------- report */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted samples, `permille` in 1..1000; prints null without samples. */
static void print_percentile(const char *name, const struct samples *s, uint64_t permille, bool last)
{
    if (s->n == 0) {
        printf("\"%s\":null%s", name, last ? "" : ",");
        return;
    }
    uint64_t rank = (permille * s->n + 999) / 1000;
    if (rank < 1)
        rank = 1;
    printf("\"%s\":%.3f%s", name, (double)s->v[rank - 1] / NS_PER_MS, last ? "" : ",");
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double sec = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec);
    return sec + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static void report(void)
{
    struct stats *st = &g.st;
    qsort(st->latency.v, st->latency.n, sizeof(uint64_t), cmp_u64);
    qsort(st->service.v, st->service.n, sizeof(uint64_t), cmp_u64);
    qsort(st->send_lag.v, st->send_lag.n, sizeof(uint64_t), cmp_u64);
    double elapsed = g.cfg.duration;
    if (st->last_complete > g.measure_start)
        elapsed = fmax(elapsed, (double)(st->last_complete - g.measure_start) / (double)NS_PER_S);
    printf("{\"rate\":%.10g,\"connections\":%ld,\"duration_s\":%.10g,\"warmup_s\":%.10g,", g.cfg.rate,
           g.cfg.connections, g.cfg.duration, g.cfg.warmup);
    printf("\"scheduled\":%lu,\"sent\":%lu,\"completed\":%lu,\"warmup_sent\":%lu,\"achieved_rps\":%.3f,",
           (unsigned long)st->scheduled, (unsigned long)st->sent, (unsigned long)st->completed,
           (unsigned long)st->warmup_sent, (double)st->completed / elapsed);
    printf("\"errors\":{\"connect\":%lu,\"read\":%lu,\"timeout\":%lu,\"status\":%lu},",
           (unsigned long)st->err_connect, (unsigned long)st->err_read, (unsigned long)st->err_timeout,
           (unsigned long)st->err_status);
    printf("\"queued\":%lu,\"max_queue\":%lu,\"latency_ms\":{", (unsigned long)st->queued,
           (unsigned long)st->max_queue);
    print_percentile("p50", &st->latency, 500, false);
    print_percentile("p90", &st->latency, 900, false);
    print_percentile("p99", &st->latency, 990, false);
    print_percentile("p999", &st->latency, 999, false);
    print_percentile("max", &st->latency, 1000, true);
    printf("},\"service_ms\":{");
    print_percentile("p50", &st->service, 500, false);
    print_percentile("p99", &st->service, 990, true);
    printf("},");
    print_percentile("send_lag_p99_ms", &st->send_lag, 990, false);
    printf("\"max_send_lag_ms\":%.3f,\"max_queue_wait_ms\":%.3f,\"cpu_s\":%.3f}\n",
           (double)st->max_send_lag / NS_PER_MS, (double)st->max_queue_wait / NS_PER_MS, cpu_seconds());
    fflush(stdout);
}

int main(int argc, char **argv)
{
    setup(argc, argv);

    /* Open every connection before the clock starts, so that the first requests do not queue. */
    g.connect_deadline = now_ns() + g.timeout_ns;
    for (long i = 0; i < g.cfg.connections; i++) {
        g.conns[i].fd = -1;
        conn_open(&g.conns[i]);
    }
    event_loop(connect_phase_done);

    g.t0 = now_ns();
    g.measure_start = intended(g.n_warm);
    g.drain_deadline = intended(g.n_total - 1) + g.timeout_ns;
    g.running = true;
    event_loop(run_done);
    count_unfinished();
    report();
    return 0;
}
