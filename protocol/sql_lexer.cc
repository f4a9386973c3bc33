// The SQL tokenizer and vocabulary (see sql_lexer.hh). The tokenizer mirrors
// MariaDB's sql_lex.cc where the classifier depends on it: what a comment is,
// which executable comments run, how strings and quoted names end. Everything
// else is one token per byte.
#include "protocol/sql_lexer.hh"

#include <algorithm>
#include <array>

namespace causeway::protocol {

namespace {

bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7f;
}

bool is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
        c >= 0x80;
}

bool is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

constexpr char upper_byte(char c)
{
    return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c;
}

// Case-insensitive "does `text` start with `prefix` (upper case)"; advances text.
bool eat(std::string_view& text, std::string_view prefix)
{
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (upper_byte(text[i]) != prefix[i]) return false;
    text.remove_prefix(prefix.size());
    return true;
}

void trim_front(std::string_view& text)
{
    while (!text.empty() && is_space(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
}

}   // namespace

token sql_lexer::next()
{
    if (!skip_space_and_comments()) return token{token_kind::end, 0, false, {}, sql_.size(), sql_.size()};
    const std::size_t begin = pos_;
    const auto c = static_cast<unsigned char>(sql_[pos_]);
    if (is_word_byte(c)) return lex_word(begin);
    if (c == '`') return lex_quoted(begin, '`', token_kind::quoted_name, false);
    if (c == '\'') return lex_quoted(begin, '\'', token_kind::string, !options_.no_backslash_escapes);
    if (c == '"') {
        if (options_.ansi_quotes) return lex_quoted(begin, '"', token_kind::quoted_name, false);
        return lex_quoted(begin, '"', token_kind::string, !options_.no_backslash_escapes);
    }
    if (c == '@') return lex_variable(begin);
    if (c == ':' && at(pos_ + 1) == '=') {
        pos_ += 2;
        return token{token_kind::assign, 0, false, sql_.substr(begin, 2), begin, pos_};
    }
    if (is_control(c)) doubtful_ = true;   // the server reads NUL and friends as syntax errors
    ++pos_;
    return token{token_kind::punct, char(c), false, sql_.substr(begin, 1), begin, pos_};
}

// Skips whitespace, comments and the end of an executable comment; false at
// the end of the input.
bool sql_lexer::skip_space_and_comments()
{
    for (;;) {
        if (pos_ >= sql_.size()) {
            if (in_executable_comment_) unterminated_ = true;
            in_executable_comment_ = false;
            return false;
        }
        const auto c = static_cast<unsigned char>(sql_[pos_]);
        if (is_space(c)) {
            ++pos_;
        } else if (c == '#') {
            skip_line_comment();
        } else if (c == '-' && at(pos_ + 1) == '-' &&
                   (pos_ + 2 >= sql_.size() || is_space(static_cast<unsigned char>(sql_[pos_ + 2])) ||
                    is_control(static_cast<unsigned char>(sql_[pos_ + 2])))) {
            skip_line_comment();
        } else if (c == '/' && at(pos_ + 1) == '*') {
            skip_block_comment();
        } else if (c == '*' && at(pos_ + 1) == '/' && in_executable_comment_) {
            pos_ += 2;
            in_executable_comment_ = false;
        } else {
            return true;
        }
    }
}

void sql_lexer::skip_line_comment()
{
    // Inside /*! ... */ a line comment can swallow the closing */: the server
    // and a reader of the text may disagree about where SQL resumes.
    if (in_executable_comment_) doubtful_ = true;
    auto nl = sql_.find('\n', pos_);
    pos_ = nl == std::string_view::npos ? sql_.size() : nl + 1;
}

void sql_lexer::skip_block_comment()
{
    std::size_t p = pos_ + 2;
    const bool bang = at(p) == '!';
    const bool maria = at(p) == 'M' && at(p + 1) == '!';
    if (!bang && !maria) {
        auto close = sql_.find("*/", p);
        if (close == std::string_view::npos) {
            unterminated_ = true;
            pos_ = sql_.size();
            return;
        }
        note_hint(sql_.substr(p, close - p));
        pos_ = close + 2;
        return;
    }
    // An executable comment. The server accepts a nested one only as a
    // discarded comment; we cannot tell where its SQL ends with confidence.
    if (in_executable_comment_) doubtful_ = true;
    p += maria ? 2 : 1;
    std::size_t digits = 0;
    while (digits < 6 && is_digit(static_cast<unsigned char>(at(p + digits)))) ++digits;
    if (digits < 5) {
        // No version: always SQL (a short run of digits is part of that SQL).
        pos_ = p;
        in_executable_comment_ = true;
        return;
    }
    std::uint32_t version = 0;
    for (std::size_t i = 0; i < digits; ++i) version = version * 10 + std::uint32_t(sql_[p + i] - '0');
    // MariaDB ignores /*!50700../*!99999 (MySQL 5.7+ syntax) but not /*M!.
    auto runs_on = [&](std::uint32_t server) {
        return version <= server && (version < 50700 || version > 99999 || maria);
    };
    const bool runs = runs_on(options_.server_version);
    if (options_.oldest_server_version != 0 && runs != runs_on(options_.oldest_server_version)) doubtful_ = true;
    if (runs) {
        pos_ = p + digits;
        in_executable_comment_ = true;
        return;
    }
    skip_versioned_comment_body(p + digits);
}

// A versioned comment for a newer server is discarded; the server allows one
// level of plain /* */ nested inside it.
void sql_lexer::skip_versioned_comment_body(std::size_t from)
{
    bool nested = false;
    for (std::size_t p = from; p + 1 < sql_.size(); ++p) {
        if (sql_[p] == '/' && sql_[p + 1] == '*' && !nested) {
            nested = true;
            ++p;
        } else if (sql_[p] == '*' && sql_[p + 1] == '/') {
            if (!nested) {
                pos_ = p + 2;
                return;
            }
            nested = false;
            ++p;
        }
    }
    unterminated_ = true;
    pos_ = sql_.size();
}

// "causeway:primary" / "causeway:replica", case-insensitive, optional leading
// '+' (optimizer-hint style) and spaces. Primary wins over replica.
void sql_lexer::note_hint(std::string_view comment)
{
    trim_front(comment);
    if (!comment.empty() && comment.front() == '+') comment.remove_prefix(1);
    trim_front(comment);
    if (!eat(comment, "CAUSEWAY")) return;
    trim_front(comment);
    if (!eat(comment, ":")) return;
    trim_front(comment);
    route_hint h;
    if (eat(comment, "PRIMARY"))
        h = route_hint::primary;
    else if (eat(comment, "REPLICA"))
        h = route_hint::replica;
    else
        return;
    trim_front(comment);
    if (!comment.empty()) return;
    if (hint_ != route_hint::primary) hint_ = h;
}

token sql_lexer::lex_word(std::size_t begin)
{
    std::size_t p = begin;
    while (p < sql_.size() && is_word_byte(static_cast<unsigned char>(sql_[p]))) ++p;
    pos_ = p;
    return token{token_kind::word, 0, false, sql_.substr(begin, p - begin), begin, p};
}

token sql_lexer::lex_quoted(std::size_t begin, char quote, token_kind kind, bool backslash_escapes)
{
    token t{kind, 0, false, {}, begin, begin};
    std::size_t p = begin + 1;
    for (;;) {
        if (p >= sql_.size()) {
            unterminated_ = true;
            t.text = sql_.substr(begin + 1);
            pos_ = t.end = sql_.size();
            return t;
        }
        const auto c = static_cast<unsigned char>(sql_[p]);
        if (c >= 0x80 && options_.multibyte_unsafe_charset) doubtful_ = true;
        if (c == '\\' && backslash_escapes) {
            t.escaped = true;
            p += 2;
        } else if (c == static_cast<unsigned char>(quote)) {
            if (at(p + 1) != quote) break;
            t.escaped = true;
            p += 2;
        } else {
            ++p;
        }
    }
    t.text = sql_.substr(begin + 1, p - begin - 1);
    pos_ = t.end = p + 1;
    // A server that skips this executable comment ends it at this "*/".
    if (in_executable_comment_ && t.text.find("*/") != std::string_view::npos) doubtful_ = true;
    return t;
}

token sql_lexer::lex_variable(std::size_t begin)
{
    std::size_t p = begin + 1;
    if (at(p) == '@') {
        // @@[global.|session.|local.]name; a quoted part is kept raw.
        const std::size_t name = p + 1;
        p = name;
        for (;;) {
            const auto c = static_cast<unsigned char>(at(p));
            if (p < sql_.size() && (is_word_byte(c) || c == '.')) {
                ++p;
            } else if (c == '`') {
                pos_ = p;
                token q = lex_quoted(p, '`', token_kind::quoted_name, false);
                p = q.end;
            } else {
                break;
            }
        }
        pos_ = p;
        if (p == name) doubtful_ = true;
        return token{token_kind::system_variable, 0, false, sql_.substr(name, p - name), begin, p};
    }
    const char q = at(p);
    if (p < sql_.size() && (q == '\'' || q == '"' || q == '`')) {
        token t = lex_quoted(p, q, token_kind::user_variable, q != '`' && !options_.no_backslash_escapes);
        t.begin = begin;
        return t;
    }
    if (p < sql_.size() && (is_word_byte(static_cast<unsigned char>(q)) || q == '.')) {
        while (p < sql_.size() && (is_word_byte(static_cast<unsigned char>(sql_[p])) || sql_[p] == '.')) ++p;
        pos_ = p;
        return token{token_kind::user_variable, 0, false, sql_.substr(begin + 1, p - begin - 1), begin, p};
    }
    pos_ = p;
    return token{token_kind::punct, '@', false, sql_.substr(begin, 1), begin, p};
}

// ---------------------------------------------------------------------------
// Vocabulary. One sorted table (sorted at compile time) of keywords and
// built-ins; a word followed by '(' that is neither reserved nor a known
// built-in is a stored function or UDF call to the classifier.

namespace {

constexpr word_info r(std::string_view n, word_id id = word_id::none)
{
    return {n, id, word_class::reserved};
}
constexpr word_info k(std::string_view n, word_id id = word_id::none)
{
    return {n, id, word_class::keyword};
}
constexpr word_info t(std::string_view n)
{
    return {n, word_id::none, word_class::type_name};
}
constexpr word_info f(std::string_view n, word_id id = word_id::none)
{
    return {n, id, word_class::pure};
}
constexpr word_info p(std::string_view n, word_id id = word_id::none)
{
    return {n, id, word_class::primary};
}

using w = word_id;

constexpr word_info word_list[] = {
    // Statement heads and clause keywords.
    k("AGAINST"),
    k("ALGORITHM", w::algorithm),
    r("ALL"),
    r("ALTER", w::alter),
    r("ANALYZE", w::analyze),
    r("AND", w::and_),
    k("ANY"),
    r("AS", w::as),
    r("ASC"),
    k("AUTHORS", w::authors),
    k("BEGIN", w::begin),
    r("BETWEEN"),
    k("BINLOG", w::binlog),
    k("BODY", w::body),
    r("BY"),
    r("CALL", w::call),
    r("CASE"),
    k("CHAIN", w::chain),
    r("CHANGE", w::change),
    r("CHARACTER", w::character),
    r("CHECK", w::check),
    k("CHECKSUM", w::checksum),
    k("COLUMNS", w::columns),
    k("COMMIT", w::commit),
    k("CONSISTENT", w::consistent),
    r("CONSTRAINT"),
    k("CONTRIBUTORS", w::contributors),
    r("CREATE", w::create),
    r("CROSS"),
    k("DATA", w::data),
    r("DATABASES", w::databases),
    k("DEFINER", w::definer),
    r("DELAYED", w::delayed),
    r("DELETE", w::delete_),
    r("DESC", w::desc),
    r("DESCRIBE", w::describe),
    r("DISTINCT"),
    r("DISTINCTROW"),
    r("DIV"),
    k("DO", w::do_),
    r("DROP", w::drop),
    r("DUAL", w::dual),
    r("ELSE"),
    k("END", w::end),
    k("ENGINES", w::engines),
    k("ESCAPE"),
    k("EVENT", w::event),
    k("EVENTS", w::events),
    r("EXCEPT", w::except),
    r("EXISTS"),
    r("EXPLAIN", w::explain),
    k("EXTENDED", w::extended),
    k("FIELDS", w::fields),
    k("FLUSH", w::flush),
    r("FOR", w::for_),
    r("FORCE"),
    r("FOREIGN"),
    r("FROM", w::from),
    k("FULL", w::full),
    r("FULLTEXT", w::fulltext),
    k("FUNCTION", w::function),
    k("GLOBAL", w::global),
    r("GRANT", w::grant),
    k("GRANTS", w::grants),
    r("GROUP", w::group),
    k("HANDLER", w::handler),
    r("HAVING", w::having),
    r("HIGH_PRIORITY", w::high_priority),
    r("IGNORE", w::ignore),
    r("IN", w::in),
    r("INDEX", w::index),
    k("INDEXES", w::indexes),
    r("INNER"),
    k("INSTALL", w::install),
    r("INTERSECT", w::intersect),
    r("INTO", w::into),
    r("IS"),
    k("ISOLATION", w::isolation),
    r("JOIN", w::join),
    r("KEY"),
    r("KEYS", w::keys),
    r("KILL", w::kill),
    k("LATERAL", w::lateral),
    k("LEVEL", w::level),
    r("LIKE", w::like),
    r("LIMIT", w::limit),
    r("LOAD", w::load),
    k("LOCAL", w::local),
    r("LOCK", w::lock),
    r("LOW_PRIORITY", w::low_priority),
    k("MODE"),
    k("NAMES", w::names),
    r("NATURAL"),
    k("NESTED"),
    k("NEXT", w::next),
    k("NO", w::no),
    r("NOT", w::not_),
    k("OF"),
    k("OFFSET"),
    r("ON", w::on),
    k("ONLY", w::only),
    r("OR", w::or_),
    r("ORDER", w::order),
    r("OUTER"),
    r("OVER"),
    k("PACKAGE", w::package),
    r("PARTITION"),
    k("PARTITIONS", w::partitions),
    k("PATH"),
    k("PERSIST", w::persist),
    k("PERSIST_ONLY", w::persist_only),
    k("PLUGINS", w::plugins),
    k("PREPARE", w::prepare),
    k("PREVIOUS", w::previous),
    r("PRIMARY"),
    k("PRIVILEGES", w::privileges),
    r("PROCEDURE", w::procedure),
    r("PURGE", w::purge),
    k("QUICK", w::quick),
    r("RANGE"),
    r("READ", w::read),
    k("RECOVER", w::recover),
    r("RECURSIVE", w::recursive),
    r("REFERENCES", w::references),
    r("REGEXP"),
    r("RELEASE", w::release),
    r("RENAME", w::rename),
    k("REPAIR", w::repair),
    k("RESET", w::reset),
    r("RETURNING", w::returning),
    r("REVOKE", w::revoke),
    r("RLIKE"),
    k("ROLE", w::role),
    k("ROLLBACK", w::rollback),
    k("ROLLUP"),
    r("ROWS"),
    k("SAVEPOINT", w::savepoint),
    r("SCHEMAS", w::schemas),
    k("SECURITY", w::security),
    r("SELECT", w::select),
    r("SEPARATOR"),
    k("SEQUENCE", w::sequence),
    k("SESSION", w::session),
    r("SET", w::set),
    k("SHARE", w::share),
    r("SHOW", w::show),
    k("SNAPSHOT", w::snapshot),
    k("SOME"),
    r("SPATIAL", w::spatial),
    r("SQL", w::sql),
    r("SQL_CALC_FOUND_ROWS", w::sql_calc_found_rows),
    k("START", w::start),
    k("STATEMENT", w::statement),
    k("STATUS", w::status),
    k("STOP", w::stop),
    k("STORAGE", w::storage),
    r("STRAIGHT_JOIN", w::straight_join),
    k("SYSTEM_TIME"),
    r("TABLE", w::table),
    k("TABLES", w::tables),
    k("TEMPORARY", w::temporary),
    r("THEN"),
    r("TO", w::to),
    k("TRANSACTION", w::transaction),
    r("TRIGGER", w::trigger),
    k("TRIGGERS", w::triggers),
    r("UNION", w::union_),
    k("UNINSTALL", w::uninstall),
    r("UNIQUE", w::unique),
    r("UNLOCK", w::unlock),
    r("UPDATE", w::update),
    r("USE", w::use),
    r("USING", w::using_),
    k("VALUE", w::value),
    r("VALUES", w::values),
    k("VIEW", w::view),
    r("WHEN"),
    r("WHERE", w::where),
    k("WINDOW", w::window),
    r("WITH", w::with),
    k("WORK", w::work),
    r("WRITE", w::write),
    k("XA", w::xa),
    k("XML", w::xml),
    r("XOR"),
    // Type names (CAST, CONVERT, column definitions).
    r("BIGINT"),
    r("BINARY"),
    t("BIT"),
    r("BLOB"),
    t("BOOL"),
    t("BOOLEAN"),
    t("DATETIME"),
    r("DEC"),
    r("DECIMAL"),
    r("DOUBLE"),
    t("ENUM"),
    t("FIXED"),
    r("FLOAT"),
    r("INT"),
    r("INTEGER"),
    t("JSON"),
    r("LONGBLOB"),
    r("LONGTEXT"),
    r("MEDIUMBLOB"),
    r("MEDIUMINT"),
    r("MEDIUMTEXT"),
    t("NCHAR"),
    r("NUMERIC"),
    t("NVARCHAR"),
    r("PRECISION"),
    r("REAL"),
    t("SIGNED"),
    r("SMALLINT"),
    t("TEXT"),
    r("TINYBLOB"),
    r("TINYINT"),
    r("TINYTEXT"),
    r("UNSIGNED"),
    r("VARBINARY"),
    r("VARCHAR"),
    t("VARCHAR2"),
    t("INET4"),
    t("INET6"),
    // Built-ins that are also keywords the heads look at.
    f("CHARSET", w::charset),
    f("COLLATION", w::collation),
    f("DATABASE", w::database),
    f("DEFAULT"),
    f("FORMAT", w::format),
    f("IF", w::if_),
    f("INSERT", w::insert),
    f("JSON_TABLE", w::json_table),
    f("PASSWORD", w::password),
    f("REPLACE", w::replace),
    f("SCHEMA", w::schema),
    f("TRUNCATE", w::truncate),
    f("USER", w::user),
    // Built-in functions without side effects (string, numeric, date, JSON,
    // aggregate, window, geometry, misc). SLEEP and BENCHMARK only burn time.
    f("ABS"),
    f("ACOS"),
    f("ADDDATE"),
    f("ADDTIME"),
    f("ADD_MONTHS"),
    f("AES_DECRYPT"),
    f("AES_ENCRYPT"),
    f("ASCII"),
    f("ASIN"),
    f("ASTEXT"),
    f("ASWKT"),
    f("ATAN"),
    f("ATAN2"),
    f("AVG"),
    f("BENCHMARK"),
    f("BIN"),
    f("BIT_AND"),
    f("BIT_COUNT"),
    f("BIT_LENGTH"),
    f("BIT_OR"),
    f("BIT_XOR"),
    f("CAST"),
    f("CEIL"),
    f("CEILING"),
    f("CHAR"),
    f("CHARACTER_LENGTH"),
    f("CHAR_LENGTH"),
    f("CHR"),
    f("COALESCE"),
    f("COERCIBILITY"),
    f("COLUMN_ADD"),
    f("COLUMN_CHECK"),
    f("COLUMN_CREATE"),
    f("COLUMN_DELETE"),
    f("COLUMN_EXISTS"),
    f("COLUMN_GET"),
    f("COLUMN_JSON"),
    f("COLUMN_LIST"),
    f("COMPRESS"),
    f("CONCAT"),
    f("CONCAT_WS"),
    f("CONV"),
    f("CONVERT"),
    f("CONVERT_TZ"),
    f("COS"),
    f("COT"),
    f("COUNT"),
    f("CRC32"),
    f("CRC32C"),
    f("CUME_DIST"),
    f("CURDATE"),
    f("CURRENT_DATE"),
    f("CURRENT_ROLE"),
    f("CURRENT_TIME"),
    f("CURRENT_TIMESTAMP"),
    f("CURRENT_USER"),
    f("CURTIME"),
    f("DATE"),
    f("DATEDIFF"),
    f("DATE_ADD"),
    f("DATE_FORMAT"),
    f("DATE_SUB"),
    f("DAY"),
    f("DAYNAME"),
    f("DAYOFMONTH"),
    f("DAYOFWEEK"),
    f("DAYOFYEAR"),
    f("DECODE"),
    f("DEGREES"),
    f("DENSE_RANK"),
    f("ELT"),
    f("ENCODE"),
    f("EXP"),
    f("EXPORT_SET"),
    f("EXTRACT"),
    f("EXTRACTVALUE"),
    f("FIELD"),
    f("FIND_IN_SET"),
    f("FIRST_VALUE"),
    f("FLOOR"),
    f("FORMAT_BYTES"),
    f("FORMAT_PICO_TIME"),
    f("FROM_BASE64"),
    f("FROM_DAYS"),
    f("FROM_UNIXTIME"),
    f("GEOMETRYCOLLECTION"),
    f("GEOMFROMTEXT"),
    f("GET_FORMAT"),
    f("GREATEST"),
    f("GROUP_CONCAT"),
    f("HEX"),
    f("HOUR"),
    f("IFNULL"),
    f("INET6_ATON"),
    f("INET6_NTOA"),
    f("INET_ATON"),
    f("INET_NTOA"),
    f("INSTR"),
    f("INTERVAL"),
    f("ISNULL"),
    f("IS_IPV4"),
    f("IS_IPV4_COMPAT"),
    f("IS_IPV4_MAPPED"),
    f("IS_IPV6"),
    f("JSON_ARRAY"),
    f("JSON_ARRAYAGG"),
    f("JSON_ARRAY_APPEND"),
    f("JSON_ARRAY_INSERT"),
    f("JSON_ARRAY_INTERSECT"),
    f("JSON_COMPACT"),
    f("JSON_CONTAINS"),
    f("JSON_CONTAINS_PATH"),
    f("JSON_DEPTH"),
    f("JSON_DETAILED"),
    f("JSON_EQUALS"),
    f("JSON_EXISTS"),
    f("JSON_EXTRACT"),
    f("JSON_INSERT"),
    f("JSON_KEYS"),
    f("JSON_LENGTH"),
    f("JSON_LOOSE"),
    f("JSON_MERGE"),
    f("JSON_MERGE_PATCH"),
    f("JSON_MERGE_PRESERVE"),
    f("JSON_NORMALIZE"),
    f("JSON_OBJECT"),
    f("JSON_OBJECTAGG"),
    f("JSON_OBJECT_FILTER_KEYS"),
    f("JSON_OBJECT_TO_ARRAY"),
    f("JSON_OVERLAPS"),
    f("JSON_PRETTY"),
    f("JSON_QUERY"),
    f("JSON_QUOTE"),
    f("JSON_REMOVE"),
    f("JSON_REPLACE"),
    f("JSON_SCHEMA_VALID"),
    f("JSON_SEARCH"),
    f("JSON_SET"),
    f("JSON_TYPE"),
    f("JSON_UNQUOTE"),
    f("JSON_VALID"),
    f("JSON_VALUE"),
    f("LAG"),
    f("LAST_DAY"),
    f("LAST_VALUE"),
    f("LCASE"),
    f("LEAD"),
    f("LEAST"),
    f("LEFT"),
    f("LENGTH"),
    f("LENGTHB"),
    f("LINESTRING"),
    f("LN"),
    f("LOCALTIME"),
    f("LOCALTIMESTAMP"),
    f("LOCATE"),
    f("LOG"),
    f("LOG10"),
    f("LOG2"),
    f("LOWER"),
    f("LPAD"),
    f("LTRIM"),
    f("MAKEDATE"),
    f("MAKETIME"),
    f("MAKE_SET"),
    f("MATCH"),
    f("MAX"),
    f("MBRCONTAINS"),
    f("MBRINTERSECTS"),
    f("MBRWITHIN"),
    f("MD5"),
    f("MEDIAN"),
    f("MICROSECOND"),
    f("MID"),
    f("MIN"),
    f("MINUTE"),
    f("MOD"),
    f("MONTH"),
    f("MONTHNAME"),
    f("MULTILINESTRING"),
    f("MULTIPOINT"),
    f("MULTIPOLYGON"),
    f("NAME_CONST"),
    f("NATURAL_SORT_KEY"),
    f("NOW"),
    f("NTH_VALUE"),
    f("NTILE"),
    f("NULLIF"),
    f("NVL"),
    f("NVL2"),
    f("OCT"),
    f("OCTET_LENGTH"),
    f("ORD"),
    f("PERCENTILE_CONT"),
    f("PERCENTILE_DISC"),
    f("PERCENT_RANK"),
    f("PERIOD_ADD"),
    f("PERIOD_DIFF"),
    f("PI"),
    f("POINT"),
    f("POLYGON"),
    f("POSITION"),
    f("POW"),
    f("POWER"),
    f("QUARTER"),
    f("QUOTE"),
    f("RADIANS"),
    f("RAND"),
    f("RANDOM_BYTES"),
    f("RANK"),
    f("REGEXP_INSTR"),
    f("REGEXP_REPLACE"),
    f("REGEXP_SUBSTR"),
    f("REPEAT"),
    f("REVERSE"),
    f("RIGHT"),
    f("ROUND"),
    f("ROW_NUMBER"),
    f("RPAD"),
    f("RTRIM"),
    f("SECOND"),
    f("SEC_TO_TIME"),
    f("SESSION_USER"),
    f("SFORMAT"),
    f("SHA"),
    f("SHA1"),
    f("SHA2"),
    f("SIGN"),
    f("SIN"),
    f("SLEEP"),
    f("SOUNDEX"),
    f("SPACE"),
    f("SQRT"),
    f("STD"),
    f("STDDEV"),
    f("STDDEV_POP"),
    f("STDDEV_SAMP"),
    f("STRCMP"),
    f("STR_TO_DATE"),
    f("ST_AREA"),
    f("ST_ASBINARY"),
    f("ST_ASGEOJSON"),
    f("ST_ASTEXT"),
    f("ST_ASWKB"),
    f("ST_ASWKT"),
    f("ST_BUFFER"),
    f("ST_CENTROID"),
    f("ST_CONTAINS"),
    f("ST_DISTANCE"),
    f("ST_DISTANCE_SPHERE"),
    f("ST_ENVELOPE"),
    f("ST_EQUALS"),
    f("ST_GEOMFROMGEOJSON"),
    f("ST_GEOMFROMTEXT"),
    f("ST_GEOMFROMWKB"),
    f("ST_INTERSECTS"),
    f("ST_ISVALID"),
    f("ST_LENGTH"),
    f("ST_POINTFROMTEXT"),
    f("ST_SRID"),
    f("ST_WITHIN"),
    f("ST_X"),
    f("ST_Y"),
    f("SUBDATE"),
    f("SUBSTR"),
    f("SUBSTRING"),
    f("SUBSTRING_INDEX"),
    f("SUBTIME"),
    f("SUM"),
    f("SYSDATE"),
    f("SYSTEM_USER"),
    f("SYS_GUID"),
    f("TAN"),
    f("TIME"),
    f("TIMEDIFF"),
    f("TIMESTAMP"),
    f("TIMESTAMPADD"),
    f("TIMESTAMPDIFF"),
    f("TIME_FORMAT"),
    f("TIME_TO_SEC"),
    f("TO_BASE64"),
    f("TO_CHAR"),
    f("TO_DAYS"),
    f("TO_SECONDS"),
    f("TRIM"),
    f("UCASE"),
    f("UNCOMPRESS"),
    f("UNCOMPRESSED_LENGTH"),
    f("UNHEX"),
    f("UNIX_TIMESTAMP"),
    f("UPDATEXML"),
    f("UPPER"),
    f("UTC_DATE"),
    f("UTC_TIME"),
    f("UTC_TIMESTAMP"),
    f("UUID"),
    f("UUID_SHORT"),
    f("VARIANCE"),
    f("VAR_POP"),
    f("VAR_SAMP"),
    f("VERSION"),
    f("WEEK"),
    f("WEEKDAY"),
    f("WEEKOFYEAR"),
    f("WEIGHT_STRING"),
    f("YEAR"),
    f("YEARWEEK"),
    // Built-ins that must run in the client's own primary session: their
    // answer is that session's (or that server's) state, or they change it.
    p("BINLOG_GTID_POS"),
    p("CONNECTION_ID"),
    p("CURRVAL"),
    p("FOUND_ROWS", w::found_rows),
    p("GET_LOCK"),
    p("IS_FREE_LOCK"),
    p("IS_USED_LOCK"),
    p("LASTVAL"),
    p("LAST_INSERT_ID"),
    p("LOAD_FILE"),
    p("MASTER_GTID_WAIT"),
    p("MASTER_POS_WAIT"),
    p("NEXTVAL"),
    p("RELEASE_ALL_LOCKS"),
    p("RELEASE_LOCK"),
    p("ROW_COUNT", w::row_count),
    p("SETVAL"),
    p("SOURCE_POS_WAIT"),
    p("WAIT_FOR_EXECUTED_GTID_SET"),
    p("WSREP_LAST_SEEN_GTID"),
    p("WSREP_LAST_WRITTEN_GTID"),
    p("WSREP_SYNC_WAIT_UPTO_GTID"),
};

constexpr auto word_table = [] {
    std::array<word_info, std::size(word_list)> table{};
    std::copy(std::begin(word_list), std::end(word_list), table.begin());
    std::sort(table.begin(), table.end(), [](const word_info& a, const word_info& b) { return a.name < b.name; });
    return table;
}();

static_assert(std::adjacent_find(word_table.begin(), word_table.end(),
                                 [](const word_info& a, const word_info& b) { return a.name == b.name; }) ==
                  word_table.end(),
              "duplicate word in word_table");

constexpr std::size_t longest_word = 32;

// Case-insensitive FNV-1a; the table's names are upper case already.
constexpr std::uint32_t word_hash(std::string_view word)
{
    std::uint32_t h = 2166136261u;
    for (char c : word) h = (h ^ std::uint8_t(upper_byte(c))) * 16777619u;
    return h;
}

// Open addressing over indexes into word_table (0 = empty slot), built at
// compile time: one hash and usually one compare per word.
constexpr std::size_t slot_count = 2048;
static_assert(slot_count >= 2 * std::size(word_list) && (slot_count & (slot_count - 1)) == 0);

constexpr auto word_slots = [] {
    std::array<std::uint16_t, slot_count> slots{};
    for (std::size_t i = 0; i < word_table.size(); ++i) {
        std::size_t s = word_hash(word_table[i].name) & (slot_count - 1);
        while (slots[s] != 0) s = (s + 1) & (slot_count - 1);
        slots[s] = std::uint16_t(i + 1);
    }
    return slots;
}();

}   // namespace

bool iequals(std::string_view a, std::string_view upper)
{
    if (a.size() != upper.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (upper_byte(a[i]) != upper[i]) return false;
    return true;
}

bool istarts_with(std::string_view a, std::string_view upper)
{
    return a.size() >= upper.size() && iequals(a.substr(0, upper.size()), upper);
}

const word_info* find_word(std::string_view word)
{
    if (word.empty() || word.size() > longest_word || (word[0] >= '0' && word[0] <= '9')) return nullptr;
    for (std::size_t s = word_hash(word) & (slot_count - 1);; s = (s + 1) & (slot_count - 1)) {
        const std::uint16_t i = word_slots[s];
        if (i == 0) return nullptr;
        const word_info& e = word_table[i - 1];
        if (iequals(word, e.name)) return &e;
    }
}

// ---------------------------------------------------------------------------
// Names whose meaning depends on the server that answers.

namespace {

// @@variables whose value belongs to one server or one session: reading them
// on a replica connection answers a different question.
constexpr std::string_view server_variables[] = {
    "AUTOCOMMIT",
    "ERROR_COUNT",
    "HOSTNAME",
    "IDENTITY",
    "INNODB_READ_ONLY",
    "INSERT_ID",
    "IN_TRANSACTION",
    "LAST_GTID",
    "LAST_INSERT_ID",
    "LOG_BIN",
    "PORT",
    "PSEUDO_THREAD_ID",
    "RAND_SEED1",
    "RAND_SEED2",
    "READ_ONLY",
    "SERVER_ID",
    "SERVER_UUID",
    "TIMESTAMP",
    "TRANSACTION_READ_ONLY",
    "TX_READ_ONLY",
    "WARNING_COUNT",
};
constexpr std::string_view server_variable_prefixes[] = {
    "GTID_", "MASTER_", "RELAY_", "REPLICATE_", "RPL_", "SLAVE_", "WSREP_",
};

// information_schema tables that describe the data dictionary (replicated);
// every other one describes the server it runs on. TABLES, PARTITIONS and
// STATISTICS are not here: their AUTO_INCREMENT, row counts, sizes, times and
// cardinalities are each server's own.
constexpr std::string_view dictionary_tables[] = {
    "CHARACTER_SETS",
    "CHECK_CONSTRAINTS",
    "COLLATIONS",
    "COLLATION_CHARACTER_SET_APPLICABILITY",
    "COLUMNS",
    "COLUMN_PRIVILEGES",
    "ENGINES",
    "EVENTS",
    "KEYWORDS",
    "KEY_COLUMN_USAGE",
    "PARAMETERS",
    "PLUGINS",
    "REFERENTIAL_CONSTRAINTS",
    "ROUTINES",
    "SCHEMATA",
    "SCHEMA_PRIVILEGES",
    "SEQUENCES",
    "SQL_FUNCTIONS",
    "TABLE_CONSTRAINTS",
    "TABLE_PRIVILEGES",
    "TRIGGERS",
    "USER_PRIVILEGES",
    "VIEWS",
};

template <std::size_t n>
bool in_list(std::string_view name, const std::string_view (&list)[n])
{
    return std::any_of(std::begin(list), std::end(list), [&](std::string_view e) { return iequals(name, e); });
}

}   // namespace

bool is_server_variable(std::string_view text)
{
    // A global value asked for by name: SET GLOBAL is not replicated, so a
    // replica's is another server's (mysql-test-run's concurrent_innodb_*
    // set the global isolation level, then read it back).
    if (istarts_with(text, "GLOBAL.")) return true;
    if (const auto dot = text.rfind('.'); dot != std::string_view::npos) text.remove_prefix(dot + 1);
    if (in_list(text, server_variables)) return true;
    return std::any_of(std::begin(server_variable_prefixes), std::end(server_variable_prefixes),
                       [&](std::string_view pre) { return istarts_with(text, pre); });
}

bool is_dictionary_table(std::string_view table)
{
    return in_list(table, dictionary_tables);
}

}   // namespace causeway::protocol
