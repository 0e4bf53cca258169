/* Seed 001 §9, 生产者与消费者模型 (producers and consumers): three cooks each make ten
 * dishes and put them on a Queue; two eaters take them until each gets None, which the
 * parent puts twice once all the cooks are done, then prints 主 (the eaters finish after
 * it). None is an empty (0-byte) message here. The seed's random 1-3 s sleeps are 20-60 ms
 * here. */
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
    mproc_bytes res;
    int rc; /* 订单都没来还在等呢; if res is None: break */
    while ((rc = mproc_queue_get(q, MPROC_FOREVER, &res)) == 0 && res.len > 0) {
        random_sleep(); /* 模拟处理数据的时间 */
        printf("吃货%s吃了%.*s\n", name, (int)res.len, (const char *)res.data);
        mproc_bytes_free(&res);
    }
    mproc_bytes_free(&res);
    mproc_queue_destroy(q);
    return rc != 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    mproc_queue *q;
    if (mproc_init(&argc, &argv) != 0 || mproc_queue_create(&q, 0) != 0)
        return 1;
    /* 生产者 p, 消费者 c: 生产者和消费者并发 */
    const char *cooks[3][2] = {{"大海", "包子"}, {"中海", "辣椒炒肉"}, {"小海", "土豆丝"}};
    const char *eaters[2] = {"夏洛", "西施"};
    mproc_process *p[3], *c;
    for (int i = 0; i < 3; i++)
        if (mproc_process_start_new(
                &p[i], &(mproc_process_opts){.target = "producer",
                                             .args = MPROC_ARGS(cooks[i][0], cooks[i][1], q)}))
            return 1;
    for (int i = 0; i < 2; i++)
        if (mproc_process_start_new(
                &c, &(mproc_process_opts){.target = "consumer", .args = MPROC_ARGS(eaters[i], q)}))
            return 1;
    for (int i = 0; i < 3; i++) /* 生产完了 */
        mproc_process_join(p[i], MPROC_FOREVER);
    /* 发结束信号给消费者: 发送给队列一个None (an empty message), one per consumer */
    if (mproc_queue_put(q, NULL, 0, MPROC_FOREVER) || mproc_queue_put(q, NULL, 0, MPROC_FOREVER))
        return 1;
    printf("主\n");
    mproc_queue_destroy(q);
    return 0; /* at exit: the consumers, not daemons, are joined */
}
