#include "core/runtime/worker_pool.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <utility>
#include <vector>

namespace partyline::core {
namespace {

// The signaling thread and every worker pick workers for new
// PeerConnections at once: each worker is picked equally often.
TEST(WorkerPoolTest, PicksEveryWorkerInTurnFromManyThreads) {
  constexpr size_t kThreads = 4;
  constexpr size_t kPicksPerThread = 3000;
  WorkerPool pool(3);
  ASSERT_EQ(pool.size(), 3u);
  std::vector<std::vector<size_t>> picked(kThreads, std::vector<size_t>(pool.size(), 0));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < kThreads; ++t) {
    threads.emplace_back([&pool, &picked, t] {
      for (size_t i = 0; i < kPicksPerThread; ++i) ++picked[t][pool.pick_index()];
    });
  }
  for (auto& thread : threads) thread.join();
  for (size_t worker = 0; worker < pool.size(); ++worker) {
    size_t total = 0;
    for (const auto& counts : picked) total += counts[worker];
    EXPECT_EQ(total, kThreads * kPicksPerThread / pool.size()) << "worker " << worker;
  }
}

// Tasks posted to running workers from several threads at once: each runs
// once, on its worker's thread, in the order its poster posted it; stop()
// runs what was posted before it. The tasks share nothing but their
// worker's own record, which only that worker's thread touches.
TEST(WorkerPoolTest, TasksPostedFromManyThreadsRunOnTheirWorkerInOrder) {
  constexpr size_t kPosters = 3;
  constexpr int kTasksPerWorker = 300;
  WorkerPool pool(2);
  pool.start();
  struct Record {
    std::vector<std::pair<size_t, int>> ran;  // (poster, task number)
    bool on_thread = true;
  };
  std::vector<Record> records(pool.size());
  std::vector<std::thread> posters;
  for (size_t p = 0; p < kPosters; ++p) {
    posters.emplace_back([&pool, &records, p] {
      for (int n = 0; n < kTasksPerWorker; ++n) {
        for (size_t w = 0; w < pool.size(); ++w) {
          EventLoop& worker = pool.worker(w);
          Record& record = records[w];
          worker.post([&worker, &record, p, n] {
            record.ran.emplace_back(p, n);
            record.on_thread = record.on_thread && worker.on_loop_thread();
          });
        }
      }
    });
  }
  for (auto& poster : posters) poster.join();
  pool.stop();
  for (size_t w = 0; w < pool.size(); ++w) {
    const Record& record = records[w];
    EXPECT_TRUE(record.on_thread) << "worker " << w;
    ASSERT_EQ(record.ran.size(), kPosters * kTasksPerWorker) << "worker " << w;
    std::vector<int> next(kPosters, 0);
    for (const auto& [poster, n] : record.ran) {
      EXPECT_EQ(n, next[poster]) << "worker " << w << ", poster " << poster;
      next[poster] = n + 1;
    }
  }
}

// A worker hands work to another and gets the answer back by posting, as
// the forwarding plane's control tasks and PeerConnection events do.
TEST(WorkerPoolTest, WorkersPostToEachOtherAndBack) {
  constexpr int kRounds = 500;
  WorkerPool pool(2);
  pool.start();
  std::atomic<int> answers{0};
  int asked_on_1 = 0;  // touched only on worker 1
  int seen_on_0 = 0;   // touched only on worker 0
  for (int i = 0; i < kRounds; ++i) {
    pool.worker(0).post([&, i] {
      pool.worker(1).post([&, i] {
        asked_on_1 += i;
        const int value = asked_on_1;
        pool.worker(0).post([&, value] {
          seen_on_0 = value;
          answers.fetch_add(1, std::memory_order_relaxed);
        });
      });
    });
  }
  // Worker 0's rounds reach worker 1 before run_sync's task reaches it, and
  // the answers were posted back to worker 0 before that task ran there.
  pool.worker(0).run_sync([] {});
  pool.worker(1).run_sync([] {});
  pool.worker(0).run_sync([] {});
  EXPECT_EQ(answers.load(), kRounds);
  pool.worker(0).run_sync([&] { EXPECT_EQ(seen_on_0, kRounds * (kRounds - 1) / 2); });
  pool.stop();
}

}  // namespace
}  // namespace partyline::core
