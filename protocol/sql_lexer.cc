// The SQL tokenizer (see sql_lexer.hh). It mirrors MariaDB's sql_lex.cc where
// the classifier depends on it: what a comment is, which executable comments
// run, how strings and quoted names end. Everything else is one token per byte.
#include "protocol/sql_lexer.hh"

namespace causeway::protocol {

namespace {

bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

bool is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '$' ||
           c >= 0x80;
}

bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

char upper(char c) { return (c >= 'a' && c <= 'z') ? char(c - 'a' + 'A') : c; }

// Case-insensitive "does `text` start with `prefix` (upper case)"; advances text.
bool eat(std::string_view& text, std::string_view prefix)
{
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
        if (upper(text[i]) != prefix[i]) return false;
    text.remove_prefix(prefix.size());
    return true;
}

void trim_front(std::string_view& text)
{
    while (!text.empty() && is_space(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
}

}  // namespace

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
    if (is_control(c)) doubtful_ = true;  // the server reads NUL and friends as syntax errors
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
    const bool runs = version <= options_.server_version && (version < 50700 || version > 99999 || maria);
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

}  // namespace causeway::protocol
