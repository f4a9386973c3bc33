// causewayctl's four reports (status, replicas, sessions, counters), each as
// aligned text for people or as one JSON object for scripts. Pure functions of
// the views in ctl_view.hh; the field names are documented in causewayctl(8).
#pragma once

#include <string>

#include "daemon/ctl_view.hh"

namespace causeway::daemon {

struct report_context {
    std::string config_file;
    int progress_max_age_ms = 0;
    bool json = false;
};

std::string format_status(const status_view& v, const report_context& ctx);
std::string format_replicas(const replicas_view& v, const report_context& ctx);
std::string format_sessions(const sessions_view& v, const report_context& ctx);
std::string format_counters(const counters_view& v, const report_context& ctx);

}   // namespace causeway::daemon
