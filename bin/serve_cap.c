/* serve_cap.c -- CAP 1.2 (OASIS Common Alerting Protocol) messages for a target's warning,
 * with the elements in the order the CAP 1.2 XML schema requires (alert: identifier, sender,
 * sent, status, msgType, scope, references, info; info: language, category, event,
 * responseType, urgency, severity, certainty, eventCode, effective, onset, expires, senderName,
 * headline, description, instruction, parameter, area; area: areaDesc, polygon, circle), one
 * info block in German and one in English. The mapping is documented in docs/warnings.md. */
#include "serve.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define CAP_NS "urn:oasis:names:tc:emergency:cap:1.2"

const char *serve_cap_msg_type(serve_action a)
{
    switch (a) {
    case SERVE_ACT_NONE: return NULL;
    case SERVE_ACT_RAISE: return "Alert";
    case SERVE_ACT_CANCEL: return "Cancel";
    default: return "Update";
    }
}

const char *serve_cap_severity(int level, int level_count)
{
    if (level <= 0) return "Minor";
    /* The top level is Extreme, the one below Severe, every lower one Moderate: with the three
     * DWD levels that is markant = Moderate, Unwetter = Severe, extrem = Extreme. */
    if (level >= level_count) return "Extreme";
    if (level == level_count - 1) return "Severe";
    return "Moderate";
}

const char *serve_cap_certainty(double probability)
{
    if (!(probability > 0)) return "Unlikely";
    return probability >= 0.5 ? "Likely" : "Possible";
}

const char *serve_cap_urgency(double onset_min)
{
    return (isfinite(onset_min) && onset_min > 15) ? "Expected" : "Immediate";
}

void serve_cap_time(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%S-00:00", &tm);
}

static void hhmm(int64_t t, char *buf, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, cap, "%H:%M", &tm);
}

/* Text content with the five XML special characters escaped. */
static void xml_text(FILE *out, const char *s)
{
    for (const char *c = s; *c; c++) {
        switch (*c) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        case '\'': fputs("&apos;", out); break;
        default:
            if ((unsigned char)*c >= 0x20 || *c == '\n' || *c == '\t') fputc(*c, out);
        }
    }
}

static void element(FILE *out, const char *indent, const char *name, const char *text)
{
    fprintf(out, "%s<%s>", indent, name);
    xml_text(out, text);
    fprintf(out, "</%s>\n", name);
}

static void parameter(FILE *out, const char *name, const char *value)
{
    fputs("    <parameter>\n", out);
    element(out, "      ", "valueName", name);
    element(out, "      ", "value", value);
    fputs("    </parameter>\n", out);
}

/* A number with a decimal comma (German) or point (English). */
static void format_decimal(char *buf, size_t cap, double v, int decimals, bool comma)
{
    snprintf(buf, cap, "%.*f", decimals, v);
    char *dot = strchr(buf, '.');
    if (dot && comma) *dot = ',';
}

typedef struct {
    const char *lang, *event, *sender_name;
} cap_lang;

static const cap_lang langs[2] = {
    {"de-DE", "Starkregen", "25square Starkregen-Kurzfristvorhersage"},
    {"en-GB", "Heavy rain", "25square heavy-rain nowcast"},
};

/* "Stufe 2, Unwetter" / "level 2, Unwetter"; the name is left out when it only repeats the
 * number ("level 2", the library's name for unnamed levels). */
static void level_label(char *buf, size_t cap, const serve_cap_message *m, bool de)
{
    char plain[32];
    snprintf(plain, sizeof plain, "level %d", m->level);
    const char *name = m->level_name && m->level_name[0] && strcmp(m->level_name, plain) != 0
                           ? m->level_name : NULL;
    snprintf(buf, cap, "%s %d%s%s", de ? "Stufe" : "level", m->level, name ? ", " : "",
             name ? name : "");
}

static void headline(char *buf, size_t cap, const serve_cap_message *m, bool de)
{
    const char *name = m->target_name && m->target_name[0] ? m->target_name : m->target_id;
    char label[64];
    level_label(label, sizeof label, m, de);
    if (m->action == SERVE_ACT_CANCEL)
        snprintf(buf, cap, de ? "Starkregenwarnung aufgehoben: %s" : "Heavy-rain warning cancelled: %s",
                 name);
    else if (m->data_state == SERVE_DATA_NONE)
        snprintf(buf, cap, de ? "Starkregenwarnung (%s) für %s: keine Radardaten"
                              : "Heavy-rain warning (%s) for %s: no radar data",
                 label, name);
    else
        snprintf(buf, cap, de ? "Starkregenwarnung (%s) für %s" : "Heavy-rain warning (%s) for %s",
                 label, name);
}

static void description(char *buf, size_t cap, const serve_cap_message *m, bool de)
{
    const char *name = m->target_name && m->target_name[0] ? m->target_name : m->target_id;
    char amount[32], thr[32], pct[16], onset[16];
    format_decimal(amount, sizeof amount, m->now.amount_mm, 1, de);
    format_decimal(thr, sizeof thr, m->threshold_mm, 0, de);
    format_decimal(pct, sizeof pct, 100 * m->now.probability, 0, de);
    if (m->action == SERVE_ACT_CANCEL) {
        snprintf(buf, cap,
                 de ? "Die Kurzfristvorhersage erwartet an %s in den nächsten %d Minuten keinen "
                      "Starkregen der gewarnten Stufe mehr."
                    : "The nowcast no longer expects heavy rain of the warned level at %s in the "
                      "next %d minutes.",
                 name, m->horizon_min);
        return;
    }
    if (m->data_state == SERVE_DATA_NONE) {
        snprintf(buf, cap,
                 de ? "Für %s liegen keine aktuellen Radardaten vor. Die Warnung bleibt bestehen, "
                      "bis wieder Daten eintreffen; ihr Stand ist unsicher."
                    : "There are no current radar data for %s. The warning stays in force until "
                      "data arrive again; its state is uncertain.",
                 name);
        return;
    }
    if (isfinite(m->now.onset_min)) {
        char at[8];
        hhmm(m->issue_time + (int64_t)lround(m->now.onset_min * 60), at, sizeof at);
        snprintf(onset, sizeof onset, "%s", at);
        const char *degraded =
            m->data_state == SERVE_DATA_DEGRADED
                ? (de ? " Eingeschränkte Datenlage (fehlendes Radarbild oder Zellen ohne Daten)."
                      : " Degraded input (a radar frame missing, or cells without data).")
            : m->data_state == SERVE_DATA_STALE
                ? (de ? " Die neuesten Radarbilder fehlen: ältere Vorhersage fortgeschrieben."
                      : " The newest radar frames are missing: an older forecast carried forward.")
                : "";
        if (de)
            snprintf(buf, cap,
                     "Die Kurzfristvorhersage erwartet an %s in den nächsten %d Minuten etwa %s mm "
                     "Niederschlag (Schwelle der Stufe: %s mm), ab etwa %s UTC (in %.0f min). "
                     "Wahrscheinlichkeit: %s %%.%s",
                     name, m->horizon_min, amount, thr, onset, m->now.onset_min, pct, degraded);
        else
            snprintf(buf, cap,
                     "The nowcast expects about %s mm of rain at %s in the next %d minutes "
                     "(level threshold: %s mm), from about %s UTC (in %.0f min). Probability: "
                     "%s %%.%s",
                     amount, name, m->horizon_min, thr, onset, m->now.onset_min, pct, degraded);
    } else {
        char label[64];
        level_label(label, sizeof label, m, de);
        snprintf(buf, cap,
                 de ? "Die Warnung für %s bleibt bestehen (%s); die aktuelle Vorhersage liegt "
                      "darunter (etwa %s mm in %d Minuten)."
                    : "The warning for %s stays in force (%s); the current forecast is below it "
                      "(about %s mm in %d minutes).",
                 name, label, amount, m->horizon_min);
    }
}

static const char *default_instruction(const serve_cap_message *m, bool de)
{
    if (m->action == SERVE_ACT_CANCEL) return de ? "Keine Maßnahmen mehr nötig." : "No further action needed.";
    return de ? "Unterführungen, Keller und Tiefgaragen meiden; auf Überflutungen achten."
              : "Avoid underpasses, basements and underground car parks; watch for flooding.";
}

/* areaDesc, then a circle around a point target or one rectangle polygon around each segment
 * of a line target (CAP's "lat,lon" order, closed ring). */
static void write_area(FILE *out, const serve_cap_message *m)
{
    const char *name = m->target_name && m->target_name[0] ? m->target_name : m->target_id;
    fputs("    <area>\n", out);
    element(out, "      ", "areaDesc", name);
    if (m->vertex_count >= 2) {
        for (size_t k = 0; k + 1 < m->vertex_count; k++) {
            double lon0 = m->lonlat[2 * k], lat0 = m->lonlat[2 * k + 1];
            double lon1 = m->lonlat[2 * k + 2], lat1 = m->lonlat[2 * k + 3];
            /* Offsets of radius_km perpendicular to the segment, in degrees (local scale). */
            double kx = 111.32 * cos(lat0 * M_PI / 180), ky = 110.574;
            double dx = (lon1 - lon0) * kx, dy = (lat1 - lat0) * ky, len = hypot(dx, dy);
            double nx = len > 0 ? -dy / len : 0, ny = len > 0 ? dx / len : 1;
            double ox = nx * m->radius_km / kx, oy = ny * m->radius_km / ky;
            fprintf(out,
                    "      <polygon>%.6f,%.6f %.6f,%.6f %.6f,%.6f %.6f,%.6f %.6f,%.6f</polygon>\n",
                    lat0 + oy, lon0 + ox, lat1 + oy, lon1 + ox, lat1 - oy, lon1 - ox, lat0 - oy,
                    lon0 - ox, lat0 + oy, lon0 + ox);
        }
    } else if (m->vertex_count == 1) {
        fprintf(out, "      <circle>%.6f,%.6f %.3f</circle>\n", m->lonlat[1], m->lonlat[0],
                m->radius_km);
    }
    fputs("    </area>\n", out);
}

static void write_info(FILE *out, const serve_cap_message *m, int lang)
{
    bool de = lang == 0;
    char text[1024], t_eff[40], t_onset[40], t_exp[40], num[64];
    fputs("  <info>\n", out);
    element(out, "    ", "language", langs[lang].lang);
    element(out, "    ", "category", "Met");
    element(out, "    ", "event", langs[lang].event);
    bool cancel = m->action == SERVE_ACT_CANCEL, nodata = m->data_state == SERVE_DATA_NONE;
    element(out, "    ", "responseType", cancel ? "AllClear" : "Avoid");
    element(out, "    ", "urgency", cancel ? "Past" : nodata ? "Unknown" : serve_cap_urgency(m->now.onset_min));
    element(out, "    ", "severity", cancel ? "Minor" : serve_cap_severity(m->level, m->level_count));
    element(out, "    ", "certainty",
            cancel ? "Unlikely" : nodata ? "Unknown" : serve_cap_certainty(m->now.probability));
    fputs("    <eventCode>\n", out);
    element(out, "      ", "valueName", "sq25_level");
    snprintf(num, sizeof num, "%d", cancel ? 0 : m->level);
    element(out, "      ", "value", num);
    fputs("    </eventCode>\n", out);
    serve_cap_time(m->issue_time, t_eff, sizeof t_eff);
    element(out, "    ", "effective", t_eff);
    if (!cancel && !nodata && isfinite(m->now.onset_min)) {
        serve_cap_time(m->issue_time + (int64_t)lround(m->now.onset_min * 60), t_onset, sizeof t_onset);
        element(out, "    ", "onset", t_onset);
    }
    serve_cap_time(m->expires, t_exp, sizeof t_exp);
    element(out, "    ", "expires", t_exp);
    element(out, "    ", "senderName", langs[lang].sender_name);
    headline(text, sizeof text, m, de);
    element(out, "    ", "headline", text);
    description(text, sizeof text, m, de);
    element(out, "    ", "description", text);
    const char *instr = de ? m->instruction_de : m->instruction_en;
    element(out, "    ", "instruction", instr && instr[0] ? instr : default_instruction(m, de));
    snprintf(num, sizeof num, "%.2f", m->now.amount_mm);
    parameter(out, "amount_60min_mm", isfinite(m->now.amount_mm) ? num : "unknown");
    snprintf(num, sizeof num, "%.4f", m->now.probability);
    parameter(out, "probability", isfinite(m->now.probability) ? num : "unknown");
    snprintf(num, sizeof num, "%d", cancel ? 0 : m->level);
    parameter(out, "level", num);
    parameter(out, "level_name", cancel ? "" : m->level_name);
    parameter(out, "warning_id", m->track->warning_id);
    parameter(out, "action", serve_action_name(m->action));
    parameter(out, "data_state", serve_data_state_name(m->data_state));
    parameter(out, "target_id", m->target_id);
    write_area(out, m);
    fputs("  </info>\n", out);
}

int serve_cap_write(FILE *out, const serve_cap_message *m)
{
    const char *type = serve_cap_msg_type(m->action);
    if (!type) return -1;
    char sent[40], ref_time[40];
    serve_cap_time(m->sent, sent, sizeof sent);
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", out);
    fputs("<alert xmlns=\"" CAP_NS "\">\n", out);
    element(out, "  ", "identifier", m->track->last_ident);
    element(out, "  ", "sender", m->sender);
    element(out, "  ", "sent", sent);
    element(out, "  ", "status", m->status);
    element(out, "  ", "msgType", type);
    element(out, "  ", "scope", "Public");
    if (m->action != SERVE_ACT_RAISE) {
        /* references: "sender,identifier,sent" of the Alert and of the previous message. */
        fputs("  <references>", out);
        serve_cap_time(m->track->first_sent, ref_time, sizeof ref_time);
        xml_text(out, m->sender);
        fprintf(out, ",%s,%s", m->track->first_ident, ref_time);
        if (m->track->prev_ident[0] && strcmp(m->track->prev_ident, m->track->first_ident) != 0) {
            serve_cap_time(m->track->prev_sent, ref_time, sizeof ref_time);
            fputc(' ', out);
            xml_text(out, m->sender);
            fprintf(out, ",%s,%s", m->track->prev_ident, ref_time);
        }
        fputs("</references>\n", out);
    }
    for (int lang = 0; lang < 2; lang++) write_info(out, m, lang);
    fputs("</alert>\n", out);
    return ferror(out) ? -1 : 0;
}
