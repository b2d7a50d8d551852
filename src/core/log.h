/* Logging to stderr with levels. Thread-safe (one write(2) per line). */
#ifndef VHOSTD_CORE_LOG_H
#define VHOSTD_CORE_LOG_H

enum log_level { LOG_ERROR, LOG_WARN, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "notice", "info", "debug"; returns 0 or -EINVAL. */
int log_level_parse(const char *name, enum log_level *level);
void log_write(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_write(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __VA_ARGS__)
#define log_notice(...) log_write(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __VA_ARGS__)
#define log_debug(...)                                                         \
	do {                                                                   \
		if (log_get_level() >= LOG_DEBUG)                              \
			log_write(LOG_DEBUG, __VA_ARGS__);                     \
	} while (0)

#endif
