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

MPROC_TASK_ARGS(producer, out, const char *, name, const char *, food, mproc_queue *, q)
{
    srand((unsigned)mproc_getpid());
    int rc = 0;
    for (int i = 0; i < 10 && rc == 0; i++) {
        char res[64];
        snprintf(res, sizeof res, "%s%d", food, i);
        random_sleep(); /* 模拟生产数据的时间 */
        if ((rc = mproc_queue_put(q, res, strlen(res), MPROC_FOREVER)) == 0)
            printf("厨师%s生产了%s\n", name, res);
    }
    mproc_queue_destroy(q);
    return rc != 0;
}

MPROC_TASK_ARGS(consumer, out, const char *, name, mproc_queue *, q)
{
    srand((unsigned)mproc_getpid());
    mproc_bytes res; /* 订单都没来还在等呢 */
    while (mproc_queue_get(q, MPROC_FOREVER, &res) == 0) {
        random_sleep(); /* 模拟处理数据的时间 */
        printf("吃货%s吃了%.*s\n", name, (int)res.len, (const char *)res.data);
        mproc_bytes_free(&res);
        /* 每次完成队列取一次，往q.join()发信号，取干净了q.join()运行完 */
        mproc_queue_task_done(q);
    }
    mproc_queue_destroy(q);
    return 1; /* only if the queue failed: the parent ends this daemon while it waits */
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    double start = now_s();
    mproc_queue *q;
    if (mproc_init(&argc, &argv) != 0 || mproc_queue_create_joinable(&q, 0) != 0)
        return 1;
    /* 生产者 p, 消费者 c: 生产者和消费者并发;
     * 把消费者变成守护进程: 主进程死了，消费者子进程也跟着死 */
    const char *cooks[3][2] = {{"大海", "包子"}, {"中海", "辣椒炒肉"}, {"小海", "土豆丝"}};
    const char *eaters[2] = {"夏洛", "西施"};
    mproc_process *p[3], *c;
    for (int i = 0; i < 3; i++)
        if (mproc_process_start_new(
                &p[i], &(mproc_process_opts){.target = "producer",
                                             .args = MPROC_ARGS(cooks[i][0], cooks[i][1], q)}))
            return 1;
    for (int i = 0; i < 2; i++)
        if (mproc_process_start_new(&c, &(mproc_process_opts){.target = "consumer",
                                                              .args = MPROC_ARGS(eaters[i], q),
                                                              .daemon = true}))
            return 1;
    for (int i = 0; i < 3; i++) /* 生产完了 */
        mproc_process_join(p[i], MPROC_FOREVER);
    /* 消费者task_done给q.join()发信号 */
    if (mproc_queue_join(q, MPROC_FOREVER) != 0)
        return 1;
    /* 队列已经为空 */
    printf("主 %f\n", now_s() - start);
    mproc_queue_destroy(q);
    return 0; /* at exit: the daemon consumers are terminated */
}
