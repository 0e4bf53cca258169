/* Seed 001 §7, 进程互斥锁 (a mutex): ten buyers look up the tickets left in db.json all at
 * once, then buy one at a time under a Lock, so a ticket is never sold twice and the count
 * never goes below zero. The seed reads a db.json it does not show; here the parent writes
 * it first, with 3 tickets, and removes it at the end. So that two runs at once keep to
 * their own tickets, the file is db-<pid of the parent>.json, and the buyers get its name.
 * Sleeps are a tenth of the seed's. */
#include "example.h"

static char db[64]; /* the seed's db.json */

/* json.load(f)['count']; retried while another buyer is rewriting the file. */
static int load_count(void)
{
    int count = -1;
    for (int tries = 0; count < 0 && tries < 100; tries++) {
        FILE *f = fopen(db, "r");
        if (f == NULL || fscanf(f, "{\"count\": %d}", &count) != 1)
            sleep_ms(1);
        if (f)
            fclose(f);
    }
    return count;
}

/* json.dump({'count': count}, f) */
static void dump_count(int count)
{
    FILE *f = fopen(db, "w");
    if (f == NULL || fprintf(f, "{\"count\": %d}", count) < 0 || fclose(f) != 0)
        exit(1);
}

static void search(const char *name)
{
    int count = load_count();
    sleep_ms(100); /* 模拟查票时间 (the seed: 1 s) */
    printf("%s 查看到余票为%d\n", name, count);
}

static void get(const char *name)
{
    int count = load_count();
    if (count > 0) {                      /* 先看下有没有票 */
        sleep_ms(100 * (1 + rand() % 3)); /* random.randint(1,3) s in the seed */
        dump_count(count - 1);            /* 重新写入 */
        printf("%s 购票成功\n", name);
    } else {
        printf("%s查看到没有票了\n", name);
    }
}

MPROC_TASK_ARGS(task, out, const char *, name, mproc_lock *, mutex, const char *, path)
{
    snprintf(db, sizeof db, "%s", path);
    srand((unsigned)mproc_getpid());
    search(name);                                      /* 查票: 并发 */
    if (mproc_lock_acquire(mutex, MPROC_FOREVER) != 0) /* 购票: 串行 */
        return 1;
    get(name);
    mproc_lock_release(mutex);
    mproc_lock_destroy(mutex);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_lock *mutex;
    if (mproc_init(&argc, &argv) != 0 || mproc_lock_create(&mutex) != 0)
        return 1;
    snprintf(db, sizeof db, "db-%lld.json", (long long)mproc_getpid());
    dump_count(3);
    mproc_process *p[10];
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "路人%d", i);
        mproc_process_opts opts = {.target = "task", .args = MPROC_ARGS(name, mutex, db)};
        if (mproc_process_start_new(&p[i], &opts) != 0)
            return 1;
        /* p.join() here would make the whole task serial, not only the purchase */
    }
    for (int i = 0; i < 10; i++) /* Python joins them at exit; here, to remove the file */
        mproc_process_join(p[i], MPROC_FOREVER);
    remove(db);
    mproc_lock_destroy(mutex);
    return 0;
}
