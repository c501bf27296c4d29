// The job runner of serve: uploads queued (bounded), run one at a time on
// one worker thread with analyze() or classify(), stored in the database.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include "darklens/analyze/analyze.hpp"
#include "darklens/error.hpp"
#include "darklens/serve/serve.hpp"
#include "darklens/types.hpp"

namespace darklens::serve {
namespace {

std::string now_text() {
  const auto ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return iso8601_utc(ns);
}

}  // namespace

struct Jobs::Impl {
  JobOptions o;
  mutable std::mutex m;
  mutable std::condition_variable cv;
  std::deque<int64_t> queue;
  std::map<int64_t, nlohmann::json> records;  // id -> record
  std::map<int64_t, std::map<std::string, std::string>> params;
  int64_t next_id = 1;
  size_t pending = 0;  // submitted, upload being written
  bool running = false, stopping = false;
  std::thread worker;

  std::string upload_path(int64_t id) const { return o.dir + "/job-" + std::to_string(id) + ".capture"; }

  // Runs one job; its record is filled in.
  nlohmann::json run(int64_t id, const std::string& kind, const std::map<std::string, std::string>& p, size_t bytes) {
    const std::string file = upload_path(id);
    const std::vector<std::string> inputs = {"job " + std::to_string(id) + " (" + std::to_string(bytes) +
                                             " bytes uploaded)"};
    patterns::Store db(o.db);
    if (kind == "classify") {
      analyze::ClassifyOptions co;
      if (const auto it = p.find("model"); it != p.end()) co.model = std::stoll(it->second);
      co.catalog = o.catalog;
      co.origins = o.origins;
      co.threads = o.threads;
      auto c = analyze::classify(db, {file}, co);
      const int64_t run = analyze::store(db, c, inputs);
      return {{"run", run}, {"summary", c.summary}};
    }
    analyze::Options ao;
    ao.features.families_ = features::parse_families(analyze::kDefaultFamilies);
    if (const auto it = p.find("window"); it != p.end()) ao.features.window_ = features::parse_window(it->second);
    ao.features.threads_ = o.threads;
    ao.threads = o.threads;
    ao.catalog = o.catalog;
    ao.origins = o.origins;
    auto a = analyze::analyze({file}, ao);
    const int64_t run = analyze::store(db, a, inputs, ao);
    return {{"run", run}, {"summary", a.summary}};
  }

  void loop() {
    for (;;) {
      int64_t id = 0;
      std::string kind;
      std::map<std::string, std::string> p;
      size_t bytes = 0;
      {
        std::unique_lock<std::mutex> lock(m);
        cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (stopping) return;
        id = queue.front();
        queue.pop_front();
        running = true;
        auto& r = records.at(id);
        r["status"] = "running";
        r["started"] = now_text();
        kind = r["kind"].get<std::string>();
        bytes = r["bytes"].get<size_t>();
        p = params[id];
      }
      nlohmann::json result;
      std::string error;
      try {
        result = run(id, kind, p, bytes);
      } catch (const Error& e) {
        error = e.what();
      } catch (const std::exception& e) {
        error = std::string("unexpected error: ") + e.what();
      }
      std::error_code ec;
      std::filesystem::remove(upload_path(id), ec);
      {
        const std::lock_guard<std::mutex> lock(m);
        auto& r = records.at(id);
        r["finished"] = now_text();
        if (error.empty()) {
          r["status"] = "done";
          r["run"] = result["run"];
          r["report"] = "/v1/runs/" + std::to_string(result["run"].get<int64_t>()) + "/report";
          r["summary"] = result["summary"];
        } else {
          r["status"] = "failed";
          r["error"] = error;
        }
        params.erase(id);
        running = false;
        // Forget the oldest finished jobs beyond `keep`.
        while (records.size() > o.keep) {
          const auto oldest = records.begin();
          if (oldest->second["status"] == "queued" || oldest->second["status"] == "running") break;
          records.erase(oldest);
        }
      }
      cv.notify_all();
    }
  }
};

Jobs::Jobs(JobOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->o = std::move(options);
  std::error_code ec;
  std::filesystem::create_directories(impl_->o.dir, ec);
  if (ec || !std::filesystem::is_directory(impl_->o.dir)) {
    throw IoError(impl_->o.dir + ": cannot create the directory for uploads" + (ec ? ": " + ec.message() : ""));
  }
  impl_->worker = std::thread([this] { impl_->loop(); });
}

Jobs::~Jobs() {
  {
    const std::lock_guard<std::mutex> lock(impl_->m);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->worker.join();
  for (const int64_t id : impl_->queue) {
    std::error_code ec;
    std::filesystem::remove(impl_->upload_path(id), ec);
  }
}

nlohmann::json Jobs::submit(const std::string& kind, const std::map<std::string, std::string>& params,
                            const std::string& capture) {
  auto& d = *impl_;
  if (kind != "analyze" && kind != "classify") {
    throw JobRefused{400, "kind='" + kind.substr(0, 32) + "': a job is kind=analyze or kind=classify"};
  }
  std::map<std::string, std::string> p;
  for (const auto& [k, v] : params) {
    if (k == "kind") continue;
    if (kind == "analyze" && k == "window") {
      try {
        features::parse_window(v);
      } catch (const ParamError& e) {
        throw JobRefused{400, e.what()};
      }
    } else if (kind == "classify" && k == "model") {
      if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos || v == "0") {
        throw JobRefused{400, "model='" + v.substr(0, 32) + "': expected a run id (a positive whole number)"};
      }
    } else {
      throw JobRefused{400, "'" + k.substr(0, 32) + "' is not a parameter of a " + kind + " job (" +
                                (kind == "analyze" ? "window" : "model") + ")"};
    }
    p[k] = v;
  }
  if (capture.empty()) throw JobRefused{400, "no capture: send it as the request body"};
  if (capture.size() > d.o.max_upload) {
    throw JobRefused{413,
                     "the capture is larger than this server takes (" + std::to_string(d.o.max_upload) + " bytes)"};
  }
  int64_t id = 0;
  {
    const std::lock_guard<std::mutex> lock(d.m);
    if (d.queue.size() + d.pending >= d.o.max_queued) {
      throw JobRefused{429, "the job queue is full (" + std::to_string(d.o.max_queued) + " waiting); try again later"};
    }
    id = d.next_id++;
    ++d.pending;
  }
  {
    std::ofstream f(d.upload_path(id), std::ios::binary | std::ios::trunc);
    f.write(capture.data(), static_cast<std::streamsize>(capture.size()));
    f.close();
    if (!f) {
      const std::lock_guard<std::mutex> lock(d.m);
      --d.pending;
      std::error_code ec;
      std::filesystem::remove(d.upload_path(id), ec);
      throw IoError(d.upload_path(id) + ": cannot keep the upload");
    }
  }
  nlohmann::json record = {{"id", id},
                           {"kind", kind},
                           {"status", "queued"},
                           {"bytes", capture.size()},
                           {"params", p},
                           {"submitted", now_text()},
                           {"href", "/v1/jobs/" + std::to_string(id)}};
  {
    const std::lock_guard<std::mutex> lock(d.m);
    d.records[id] = record;
    d.params[id] = p;
    d.queue.push_back(id);
    --d.pending;
  }
  d.cv.notify_all();
  return record;
}

std::optional<nlohmann::json> Jobs::status(int64_t id) const {
  const std::lock_guard<std::mutex> lock(impl_->m);
  const auto it = impl_->records.find(id);
  if (it == impl_->records.end()) return std::nullopt;
  return it->second;
}

void Jobs::wait_idle() const {
  std::unique_lock<std::mutex> lock(impl_->m);
  impl_->cv.wait(lock, [&] { return impl_->queue.empty() && !impl_->running; });
}

}  // namespace darklens::serve
