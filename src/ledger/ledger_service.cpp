#include "ledger/ledger_service.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <limits>

#include "observe/log.hpp"

namespace shimgate {

namespace net = boost::asio;

namespace {

std::int64_t now_unix() {
    using namespace std::chrono;
    return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

utc_day first_day_shown() {
    return day_of(now_unix()) - (ledger_service::days_shown - 1);
}

}  // namespace

ledger_service::ledger_service(std::unique_ptr<ledger_store> store, std::string source,
                               std::chrono::milliseconds flush_every,
                               std::vector<ledger_recorder*> recorders, known_registry& known,
                               std::size_t max_pending_rows)
    : store_(std::move(store)),
      source_(std::move(source)),
      flush_every_(flush_every),
      recorders_(std::move(recorders)),
      known_(known),
      max_pending_rows_(max_pending_rows),
      since_(now_unix()) {}

ledger_service::~ledger_service() {
    stop();
}

void ledger_service::start() {
    net::post(ioc_, [this] {
        read_back();
        schedule_flush();
    });
    thread_ = std::thread([this] { ioc_.run(); });
}

void ledger_service::stop() {
    // Never started (a start-up that failed before serving): nothing was recorded, and the
    // workers' recorders may be gone already.
    if (stopped_ || !thread_.joinable()) return;
    stopped_ = true;
    net::post(ioc_, [this] {
        stopping_ = true;
        timer_.cancel();
    });
    work_.reset();
    thread_.join();
    // The ledger thread is gone: the store is this thread's now.
    ledger_data last = take_pending();
    if (!store_ || last.empty()) return;
    if (std::string why = store_->write(last); !why.empty()) {
        std::uint64_t calls = 0;
        for (const auto& [id, r] : last.clients)
            for (const auto& [day, c] : r.days) calls += c.total();
        log_error("ledger: " + std::to_string(calls) + " calls could not be written to " + source_ +
                  " at exit: " + why);
        std::lock_guard lock(mutex_);
        ++counts_.flush_failures;
    }
}

void ledger_service::schedule_flush() {
    timer_.expires_after(flush_every_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || stopping_) return;
        flush();
        schedule_flush();
    });
}

void ledger_service::take_from_workers() {
    for (ledger_recorder* r : recorders_) {
        ledger_data d = r->take();
        if (!d.empty()) absorb(std::move(d));
    }
}

void ledger_service::absorb(ledger_data d) {
    std::lock_guard lock(mutex_);
    for (auto& [id, record] : d.clients) {
        outcome_counts calls;
        for (const auto& [day, c] : record.days) calls.add(c);
        // The counters: a rule's first clients get their own series, the rest "other" (0).
        auto series = counts_.calls.find(id);
        if (series == counts_.calls.end()) {
            auto [n, inserted] = series_per_rule_.try_emplace(id.rule, 0);
            if (n->second < max_series_per_rule) {
                ++n->second;
                series = counts_.calls.emplace(id, outcome_counts{}).first;
            } else {
                series = counts_.calls.try_emplace(client_id{id.rule, 0}).first;
            }
        }
        series->second.add(calls);
        // The unwritten deltas, bounded in (client, day) rows.
        client_record& kept = pending_.clients[id];
        kept.first_seen = kept.first_seen == 0     ? record.first_seen
                          : record.first_seen == 0 ? kept.first_seen
                                                   : std::min(kept.first_seen, record.first_seen);
        kept.last_seen = std::max(kept.last_seen, record.last_seen);
        kept.last_successor = std::max(kept.last_successor, record.last_successor);
        for (const auto& [day, c] : record.days) {
            auto row = kept.days.find(day);
            if (row != kept.days.end()) {
                row->second.add(c);
            } else if (pending_rows_ < max_pending_rows_) {
                kept.days.emplace(day, c);
                ++pending_rows_;
            } else {
                counts_.dropped += c.total();
            }
        }
    }
}

ledger_data ledger_service::take_pending() {
    take_from_workers();
    std::lock_guard lock(mutex_);
    ledger_data taken = std::move(pending_);
    pending_ = {};
    pending_rows_ = 0;
    return taken;
}

void ledger_service::flush() {
    ledger_data writing = take_pending();
    if (store_ && !writing.empty()) {
        if (std::string why = store_->write(writing); !why.empty()) {
            note_failure(why);
            // Kept for the next flush, with what arrived meanwhile.
            std::lock_guard lock(mutex_);
            writing.add(pending_);
            pending_ = std::move(writing);
            pending_rows_ = pending_.day_rows();
            return;
        }
    }
    cache_.add(writing);
    refresh_known();
}

void ledger_service::refresh_known() {
    if (!store_) {
        known_.add_all(cache_);
        return;
    }
    // The clients only (no day is that late): other processes' new clients, cheaply.
    ledger_data clients;
    std::int64_t since = 0;
    if (std::string why = store_->read(std::numeric_limits<utc_day>::max(), clients, since);
        !why.empty()) {
        note_failure(why);
        return;
    }
    note_success();
    known_.add_all(clients);
}

void ledger_service::read_back() {
    if (store_) {
        ledger_data stored;
        std::int64_t since = 0;
        if (std::string why = store_->read(first_day_shown(), stored, since); !why.empty()) {
            note_failure(why);
            return;
        }
        cache_ = std::move(stored);
        if (since != 0) since_ = since;
        note_success();
    }
    // The workers know every client of the ledger (this process's and, with PostgreSQL, the
    // fleet's), so a known client's failing calls are counted wherever they land.
    known_.add_all(cache_);
}

void ledger_service::note_failure(const std::string& why) {
    {
        std::lock_guard lock(mutex_);
        ++counts_.flush_failures;
    }
    if (!problem_.empty()) return;  // logged once per outage
    problem_ = why;
    outage_began_ = std::chrono::steady_clock::now();
    log_error("ledger: cannot use " + source_ + ": " + why + "; calls are kept in memory (up to " +
              std::to_string(max_pending_rows_) + " client-days) and written when it is back");
}

void ledger_service::note_success() {
    if (problem_.empty()) return;
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::steady_clock::now() - outage_began_)
                             .count();
    log_info("ledger: " + source_ + " is back after " + std::to_string(seconds) +
             " s; the calls kept meanwhile are written");
    problem_.clear();
}

net::awaitable<ledger_view> ledger_service::view() {
    co_return co_await net::co_spawn(
        ioc_,
        [this]() -> net::awaitable<ledger_view> {
            take_from_workers();
            // Fresh from the store (with PostgreSQL: the whole fleet), unless it is known to be
            // down: then what was last read, without waiting for a connect to time out.
            if (problem_.empty()) read_back();
            ledger_view v;
            v.data = cache_;
            {
                std::lock_guard lock(mutex_);
                v.data.add(pending_);
            }
            v.since = since_;
            v.source = source_;
            v.problem = problem_;
            co_return v;
        },
        net::use_awaitable);
}

ledger_counts ledger_service::counts() {
    take_from_workers();
    std::lock_guard lock(mutex_);
    return counts_;
}

}  // namespace shimgate
