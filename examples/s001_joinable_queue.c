/* Seed 001 §10, JoinableQueue: the cooks and eaters of §9, but the eaters mark each dish
 * done (task_done) and loop for ever; they are daemons. The parent joins the cooks, then
 * q.join() waits until every dish was eaten, prints 主 and the time taken, and ends, which
 * terminates the eaters, still waiting for dishes (守护进程的作用). The seed's random 1-3 s
 * sleeps are 20-60 ms here. */
#include "example.h"

/* time.sleep(random.randint(1, 3)), a fiftieth */
static void random_sleep(void)
{
    sleep_ms(20L * (1 + rand() % 3));
}

MPROC_TASK(producer, in, out)
{
    (void)out;
    mproc_unpacker u;
    const char *name, *food;
    mproc_queue *q;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_str(&u, &name) != 0 || mproc_unpack_str(&u, &food) != 0 ||
        mproc_unpack_queue(&u, &q) != 0)
        return 1;
    srand((unsigned)mproc_getpid());
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++) {
        char res[64];
        int n = snprintf(res, sizeof res, "%s%d", food, i);
        random_sleep(); /* 模拟生产数据的时间 */
        if ((rc = mproc_queue_put(q, res, (size_t)n, MPROC_FOREVER)) == 0)
            printf("厨师%s生产了%s\n", name, res);
    }
    mproc_queue_destroy(q);
    return rc == 0 ? 0 : 1;
}

MPROC_TASK(consumer, in, out)
{
    (void)out;
    mproc_unpacker u;
    const char *name;
    mproc_queue *q;
    mproc_unpack_init(&u, in);
    if (mproc_unpack_str(&u, &name) != 0 || mproc_unpack_queue(&u, &q) != 0)
        return 1;
    srand((unsigned)mproc_getpid());
    for (;;) {
        mproc_bytes res; /* 订单都没来还在等呢 */
        if (mproc_queue_get(q, MPROC_FOREVER, &res) != 0)
            break;
        random_sleep(); /* 模拟处理数据的时间 */
        printf("吃货%s吃了%.*s\n", name, (int)res.len, (const char *)res.data);
        mproc_bytes_free(&res);
        /* 每次完成队列取一次，往q.join()发信号，取干净了q.join()运行完 */
        mproc_queue_task_done(q);
    }
    mproc_queue_destroy(q);
    return 1; /* only if the queue failed: the parent ends this daemon while it waits */
}

static mproc_process *start(const char *target, const char *name, const char *food, mproc_queue *q,
                            bool daemon)
{
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_str(args, name);
    if (food)
        mproc_pack_str(args, food);
    mproc_pack_handle(args, q);
    mproc_process *p =
        start_process(&(mproc_process_opts){.target = target, .args = args, .daemon = daemon});
    mproc_pack_destroy(args);
    return p;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    double start_time = now_s();
    mproc_queue *q;
    if (mproc_queue_create_joinable(&q, 0) != 0)
        return 1;
    /* 生产者和消费者并发; 把消费者变成守护进程: 主进程死了，消费者子进程也跟着死 */
    mproc_process *p1 = start("producer", "大海", "包子", q, false);
    mproc_process *p2 = start("producer", "中海", "辣椒炒肉", q, false);
    mproc_process *p3 = start("producer", "小海", "土豆丝", q, false);
    mproc_process *c1 = start("consumer", "夏洛", NULL, q, true);
    mproc_process *c2 = start("consumer", "西施", NULL, q, true);
    /* 生产完了 */
    mproc_process_join(p1, MPROC_FOREVER);
    mproc_process_join(p2, MPROC_FOREVER);
    mproc_process_join(p3, MPROC_FOREVER);
    /* 消费者task_done给q.join()发信号 */
    if (mproc_queue_join(q, MPROC_FOREVER) != 0)
        return 1;
    /* 队列已经为空 */
    printf("主 %f\n", now_s() - start_time);
    mproc_process_destroy(p1);
    mproc_process_destroy(p2);
    mproc_process_destroy(p3);
    mproc_queue_destroy(q);
    (void)c1;
    (void)c2;
    return 0; /* at exit: the daemon consumers are terminated */
}
