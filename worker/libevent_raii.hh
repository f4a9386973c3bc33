// Owners for libevent objects: each frees its object exactly once, is
// move-only and never throws. Created after fork(): an event_base must never
// cross a fork.
#pragma once

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <memory>

namespace causeway::worker {

struct event_base_deleter {
    void operator()(event_base* b) const noexcept { event_base_free(b); }
};
struct event_deleter {
    void operator()(event* e) const noexcept { event_free(e); }
};
struct bufferevent_deleter {
    void operator()(bufferevent* b) const noexcept { bufferevent_free(b); }
};
struct listener_deleter {
    void operator()(evconnlistener* l) const noexcept { evconnlistener_free(l); }
};
struct evbuffer_deleter {
    void operator()(evbuffer* b) const noexcept { evbuffer_free(b); }
};

using event_base_ptr = std::unique_ptr<event_base, event_base_deleter>;
using event_ptr = std::unique_ptr<event, event_deleter>;
using bufferevent_ptr = std::unique_ptr<bufferevent, bufferevent_deleter>;
using listener_ptr = std::unique_ptr<evconnlistener, listener_deleter>;
using evbuffer_ptr = std::unique_ptr<evbuffer, evbuffer_deleter>;

}   // namespace causeway::worker
