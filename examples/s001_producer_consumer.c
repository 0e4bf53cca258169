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
    int rc;
    for (;;) {
        mproc_bytes res; /* 订单都没来还在等呢 */
        if ((rc = mproc_queue_get(q, MPROC_FOREVER, &res)) != 0)
            break;
        if (res.len == 0) { /* if res is None: break */
            mproc_bytes_free(&res);
            break;
        }
        random_sleep(); /* 模拟处理数据的时间 */
        printf("吃货%s吃了%.*s\n", name, (int)res.len, (const char *)res.data);
        mproc_bytes_free(&res);
    }
    mproc_queue_destroy(q);
    return rc == 0 ? 0 : 1;
}

static mproc_process *start(const char *target, const char *name, const char *food, mproc_queue *q)
{
    mproc_pack *args;
    mproc_pack_create(&args);
    mproc_pack_str(args, name);
    if (food)
        mproc_pack_str(args, food);
    mproc_pack_handle(args, q);
    mproc_process *p = start_process(&(mproc_process_opts){.target = target, .args = args});
    mproc_pack_destroy(args);
    return p;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_queue *q;
    if (mproc_queue_create(&q, 0) != 0)
        return 1;
    /* 生产者和消费者并发 */
    mproc_process *p1 = start("producer", "大海", "包子", q);
    mproc_process *p2 = start("producer", "中海", "辣椒炒肉", q);
    mproc_process *p3 = start("producer", "小海", "土豆丝", q);
    mproc_process *c1 = start("consumer", "夏洛", NULL, q);
    mproc_process *c2 = start("consumer", "西施", NULL, q);
    /* 生产完了 */
    mproc_process_join(p1, MPROC_FOREVER);
    mproc_process_join(p2, MPROC_FOREVER);
    mproc_process_join(p3, MPROC_FOREVER);
    /* 发结束信号给消费者: 发送给队列一个None, one per consumer */
    mproc_queue_put(q, NULL, 0, MPROC_FOREVER);
    mproc_queue_put(q, NULL, 0, MPROC_FOREVER);
    printf("主\n");
    mproc_process_destroy(p1);
    mproc_process_destroy(p2);
    mproc_process_destroy(p3);
    mproc_queue_destroy(q);
    (void)c1;
    (void)c2;
    return 0; /* at exit: the consumers, not daemons, are joined */
}
