/* base/cp_log.h -- one line per event to stderr, logfmt or JSON.
 * Only gateway and tools log. The message is `event=name key=value ...`: the format's own
 * text gives the fields (spaces between them, `=`, a value may be quoted: `why="%s"`), and
 * what every conversion prints is data, escaped so it stays inside its value, whatever it
 * holds (issue 17): in logfmt a value is quoted when it holds anything but printable
 * ASCII (inside quotes: \" \\ \n \r \t, \xHH for other controls and for bytes that are
 * not UTF-8); in JSON every value is a string, bytes that are not UTF-8 read U+FFFD.
 * One event is one line of at most 2048 bytes; a longer one is cut between characters
 * and ends `truncated=true`. The keys ts, level and comp are the line's own: use others.
 * Never pass PHI (names, birth dates, free text) here. */
#ifndef CASEPORT_CP_LOG_H
#define CASEPORT_CP_LOG_H
#include <stdbool.h>

typedef enum { CP_LOG_DEBUG, CP_LOG_INFO, CP_LOG_WARN, CP_LOG_ERROR, CP_LOG_OFF } cp_log_level_t;
typedef enum { CP_LOG_LOGFMT, CP_LOG_JSON } cp_log_format_t;

extern cp_log_level_t cp_log_level;

void cp_log_setup(cp_log_level_t level, cp_log_format_t format);
/* "debug", "info", "warn", "error", "off"; false if unknown. */
bool cp_log_level_parse(const char *s, cp_log_level_t *out);
bool cp_log_format_parse(const char *s, cp_log_format_t *out);
void cp_log_emit(cp_log_level_t level, const char *comp, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks the level before any argument is evaluated. */
#define CP_LOG(level, comp, ...)                                                                   \
    do {                                                                                           \
        if ((level) >= cp_log_level)                                                               \
            cp_log_emit((level), (comp), __VA_ARGS__);                                             \
    } while (0)
#endif
