// One client connection and the backend connection(s) serving it: the
// client side of the protocol (greeting, authentication, commands) and the
// relay of each command's answer, packet by packet, without buffering whole
// results. State machine: one method per state, dispatched on input.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "protocol/handshake.hh"
#include "protocol/response.hh"
#include "worker/backend_conn.hh"
#include "worker/libevent_raii.hh"
#include "worker/worker.hh"

namespace causeway::worker {

class client_session final : private backend_events {
public:
    client_session(worker_context& ctx, int fd, const std::string& peer_addr);
    ~client_session();
    client_session(const client_session&) = delete;
    client_session& operator=(const client_session&) = delete;

    void start();
    // Graceful stop: close now if no statement is running and no transaction
    // is open; otherwise close as soon as that becomes true.
    void close_when_idle();

    client_session* next = nullptr;   // worker_context::sessions list
    client_session* prev = nullptr;

private:
    enum class state : std::uint8_t {
        handshake,        // greeting sent, waiting for the HandshakeResponse
        auth_switch,      // auth switch sent, waiting for the client's token
        ready,            // idle between commands
        waiting_backend,  // a command waits for the backend's login
        in_flight,        // a command's answer is being relayed
        closing,          // flushing a last packet, then closed
        dead,
    };

    static void on_client_read(bufferevent*, void* arg);
    static void on_client_write(bufferevent*, void* arg);
    static void on_client_event(bufferevent*, short what, void* arg);

    // Client side.
    void handle_client_input();
    void handle_login_packet(std::string_view payload, std::uint8_t seq);
    void handle_auth_switch_answer(std::string_view token, std::uint8_t seq);
    void finish_login(std::string_view token, std::uint8_t seq);
    bool handle_command();   // false: stop processing input for now
    void handle_change_user(std::string_view payload);
    bool forward_command(std::uint8_t cmd, std::uint32_t length, bool whole);
    void relay_client_data();

    // Backend side.
    bool ensure_backend();
    void relay_response();
    void response_complete();
    void retire_backend();

    // backend_events
    void backend_ready(backend_conn& b) override;
    void backend_login_failed(backend_conn& b, const std::string& why, const std::string& server_error) override;
    void backend_readable(backend_conn& b) override;
    void backend_writable(backend_conn& b) override;
    void backend_closed(backend_conn& b, const std::string& why) override;

    // Output and teardown.
    void send_packet(std::string_view payload, std::uint8_t seq);
    void send_error(std::uint16_t code, std::string_view sql_state, const std::string& message, std::uint8_t seq);
    void protocol_error(std::uint16_t code, const std::string& message);
    void close_after_flush();
    void destroy(const char* why);
    void update_flow_control();
    bool idle() const;
    const char* who() const { return who_.c_str(); }
    void set_who(std::string_view user);

    worker_context& ctx_;
    bufferevent_ptr client_;
    std::unique_ptr<backend_conn> primary_;
    protocol::response_tracker tracker_;
    protocol::handshake_response login_;   // user, database, charset, capabilities, attrs
    std::string scramble_;
    std::string peer_;                     // "127.0.0.1:54321"
    std::string who_;                      // "user@127.0.0.1:54321 #7" for log lines
    std::uint32_t id_;
    state state_ = state::handshake;
    std::uint16_t server_status_ = 0x0002;  // autocommit until the server says otherwise
    std::uint8_t last_client_seq_ = 0;
    std::uint8_t login_ok_seq_ = 0;           // nonzero: the client's OK waits for the backend login
    std::uint64_t backend_stream_left_ = 0;   // bytes of the current server packet still to relay
    std::uint64_t client_stream_left_ = 0;    // likewise for a large client packet
    bool backend_continuation_ = false;       // the last server chunk was 16 MiB - 1: more follows
    bool client_continuation_ = false;
    bool response_started_ = false;           // a byte of the current answer reached the client
    bool backend_paused_ = false;
    bool client_paused_ = false;
    bool close_when_idle_ = false;
};

}  // namespace causeway::worker
