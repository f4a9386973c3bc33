/* The connect-per-request client of t/bench/connect.pl: N threads, each looping
 * connect / one primary-key SELECT / close (libmariadb, Connector/C: the library
 * PHP's and Python's fast drivers wrap) for a fixed time. One process for all
 * clients, so that 64 of them cost the two cores less than 64 PHP processes.
 * Prints: connections errors p50_us p99_us.
 *   connect_client PORT THREADS SECONDS */
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { max_samples = 1 << 20 };

struct worker {
    pthread_t thread;
    int port, index;
    double until;
    long done, errors;
    unsigned *lat_us;   /* connect + SELECT + close of each iteration */
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int query_one(MYSQL *m, long id)
{
    char sql[64];
    snprintf(sql, sizeof sql, "SELECT v FROM t WHERE id = %ld", id);
    if (mysql_query(m, sql)) return 0;
    MYSQL_RES *r = mysql_store_result(m);
    if (!r) return 0;
    MYSQL_ROW row = mysql_fetch_row(r);
    int ok = row && row[0] && atol(row[0]) == id;
    mysql_free_result(r);
    return ok;
}

static void *run(void *arg)
{
    struct worker *w = arg;
    mysql_thread_init();
    while (now() < w->until) {
        double t0 = now();
        long id = 1 + (w->done * 7 + w->index) % 1000;
        MYSQL *m = mysql_init(NULL);
        int ok = m && mysql_real_connect(m, "127.0.0.1", "app", "secret", "test", (unsigned)w->port, NULL, 0) &&
            query_one(m, id);
        if (m) mysql_close(m);
        if (!ok) {
            w->errors++;
            continue;
        }
        if (w->done < max_samples) w->lat_us[w->done] = (unsigned)((now() - t0) * 1e6);
        w->done++;
    }
    mysql_thread_end();
    return NULL;
}

static int by_value(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT THREADS SECONDS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]), n = atoi(argv[2]);
    double seconds = atof(argv[3]);
    mysql_library_init(0, NULL, NULL);
    struct worker *w = calloc((size_t)n, sizeof *w);
    double until = now() + seconds;
    for (int i = 0; i < n; i++) {
        w[i].port = port;
        w[i].index = i;
        w[i].until = until;
        w[i].lat_us = malloc(sizeof(unsigned) * max_samples);
        pthread_create(&w[i].thread, NULL, run, &w[i]);
    }
    long done = 0, errors = 0, kept = 0;
    for (int i = 0; i < n; i++) {
        pthread_join(w[i].thread, NULL);
        done += w[i].done;
        errors += w[i].errors;
        kept += w[i].done < max_samples ? w[i].done : max_samples;
    }
    unsigned *all = malloc(sizeof(unsigned) * (size_t)(kept ? kept : 1));
    long k = 0;
    for (int i = 0; i < n; i++)
        for (long j = 0; j < w[i].done && j < max_samples; j++) all[k++] = w[i].lat_us[j];
    qsort(all, (size_t)k, sizeof *all, by_value);
    unsigned p50 = k ? all[k / 2] : 0, p99 = k ? all[(k * 99) / 100] : 0;
    printf("%ld %ld %u %u\n", done, errors, p50, p99);
    mysql_library_end();
    return 0;
}
