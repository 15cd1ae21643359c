/*
 * The virtual Cortex-M board's test firmware (QEMU mps2-an385, Cortex-M3):
 * a few test cases printed on UART0 in Zephyr's ztest format, one failing
 * on purpose, so that a LAVA `monitors` test action has something to watch.
 * No C library: the UART is written directly.
 *
 * Built by scripts/vlab/mcu.sh (make vlab-images) with Debian's
 * gcc-arm-none-eabi.
 */
#include <stdint.h>

/* CMSDK APB UART0 of the MPS2 AN385 (QEMU's -serial is UART0). */
#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10))
#define UART_STATE_TXFULL 1u
#define UART_CTRL_TXEN 1u

extern uint32_t __bss_start, __bss_end, __stack_top;

void reset_handler(void);
static void hang(void);

/* The vector table: the initial stack pointer and the reset handler; every
 * fault hangs. QEMU reads the first two words at reset. */
__attribute__((section(".vectors"), used)) static const void *vectors[16] = {
	&__stack_top, reset_handler, hang, hang, hang, hang, hang, 0, 0, 0, 0, hang, hang, 0, hang, hang,
};

static void putc_uart(char c)
{
	while (UART_STATE & UART_STATE_TXFULL)
		;
	UART_DATA = (uint32_t)c;
}

static void puts_uart(const char *s)
{
	for (; *s; s++) {
		if (*s == '\n')
			putc_uart('\r');
		putc_uart(*s);
	}
}

/* The test cases: each returns 0 on success. */
static volatile uint32_t sink;

static int test_arithmetic(void) { sink = 6u * 7u; return sink == 42u ? 0 : 1; }
static int test_memory(void)
{
	static uint32_t buf[16];
	for (uint32_t i = 0; i < 16; i++)
		buf[i] = i * i;
	return buf[15] == 225u ? 0 : 1;
}
static int test_uart_ready(void) { return (UART_CTRL & UART_CTRL_TXEN) ? 0 : 1; }
static int test_gpio_toggle(void) { return 0; }
/* Fails on purpose: the lab's tests check that a failing case is `fail`. */
static int test_deliberate_failure(void) { sink = 1; return sink == 2u ? 0 : 1; }

struct test {
	const char *name;
	int (*fn)(void);
};

static int run_suite(const char *suite, const struct test *t, int n)
{
	int failed = 0;
	puts_uart("Running test suite ");
	puts_uart(suite);
	puts_uart("\n===================================================================\n");
	for (int i = 0; i < n; i++) {
		puts_uart("START - ");
		puts_uart(t[i].name);
		puts_uart("\n");
		if (t[i].fn() == 0) {
			puts_uart(" PASS - ");
		} else {
			puts_uart(" FAIL - ");
			failed++;
		}
		puts_uart(t[i].name);
		puts_uart("\n===================================================================\n");
	}
	puts_uart("Test suite ");
	puts_uart(suite);
	puts_uart(failed ? " failed.\n" : " succeeded\n");
	return failed;
}

static const struct test kernel_tests[] = {
	{"test_arithmetic", test_arithmetic},
	{"test_memory", test_memory},
};
static const struct test driver_tests[] = {
	{"test_uart_ready", test_uart_ready},
	{"test_gpio_toggle", test_gpio_toggle},
	{"test_deliberate_failure", test_deliberate_failure},
};

void reset_handler(void)
{
	/* The stack pointer is set here too: a debugger that loads the image
	 * and jumps to the entry point leaves it wherever it was. */
	__asm__ volatile("ldr sp, =__stack_top");
	for (uint32_t *p = &__bss_start; p < &__bss_end; p++)
		*p = 0;
	UART_BAUDDIV = 16;
	UART_CTRL = UART_CTRL_TXEN;

	puts_uart("*** Booting lavalab virtual Cortex-M firmware ***\n");
	int failed = run_suite("kernel", kernel_tests, sizeof kernel_tests / sizeof kernel_tests[0]);
	failed += run_suite("drivers", driver_tests, sizeof driver_tests / sizeof driver_tests[0]);
	puts_uart("===================================================================\n");
	puts_uart(failed ? "PROJECT EXECUTION FAILED\n" : "PROJECT EXECUTION SUCCESSFUL\n");
	hang();
}

static void hang(void)
{
	for (;;)
		__asm__ volatile("wfi");
}
