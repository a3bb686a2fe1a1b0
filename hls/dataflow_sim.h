// dataflow_sim.h -- DATAFLOW regions and their streams, as Vitis HLS synthesizes them and as the threaded
// C simulation runs them.
//
// A region is written once:
//
//     accel::stream<T> s(ACCEL_FIFO("name", C::STREAM_DEPTH));
//     #pragma HLS STREAM variable = s depth = C::STREAM_DEPTH
//     ACCEL_DATAFLOW("region")
//     ACCEL_PROCESS(producer(s));
//     ACCEL_PROCESS(consumer(s));
//     ACCEL_DATAFLOW_END()
//
// Without ACCEL_DATAFLOW_THREADS (Vitis synthesis, Vitis C-sim, the rule checker) this is exactly
// `hls::stream<T> s("name");` and the plain calls `producer(s); consumer(s);`. With it (accelgen's g++ C-sim),
// every process runs on its own thread and every stream is a FIFO of the declared depth whose write blocks
// while it is full and whose read blocks while it is empty. Processes that only block (no empty()/full()
// polling) form a Kahn network: what they compute, and whether they deadlock, does not depend on how the
// threads interleave. When every live process of a region waits on a stream it cannot use (a read on an
// empty FIFO, a write on a full one), the region deadlocks in hardware too: every process unwinds and the
// region's caller gets accel::dataflow::Failure naming the region, the waiting processes and the FIFOs.
// A stream left holding data when the region ends fails the same way (in hardware the next call would
// read it).
#ifndef ACCELGEN_DATAFLOW_SIM_H
#define ACCELGEN_DATAFLOW_SIM_H

#include <hls_stream.h>

#if defined(ACCEL_DATAFLOW_THREADS) && !defined(__SYNTHESIS__)

#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace accel {
namespace dataflow {

// Where no STREAM pragma sets a depth, Vitis HLS gives a DATAFLOW FIFO depth 2 (UG1399, hls::stream).
constexpr int VITIS_DEFAULT_DEPTH = 2;

// A region that deadlocked, left data in a stream, or whose process failed.
class Failure : public std::runtime_error {
   public:
    explicit Failure(const std::string& what) : std::runtime_error(what) {}
};

class Region;

// The size and depth of a FIFO as the deadlock report reads them (under the region's lock).
class FifoBase {
   public:
    FifoBase(const char* name, int depth) : name_(name), depth_(depth) {
        if (depth < 1) throw Failure(std::string("stream '") + name + "': depth must be at least 1");
    }
    FifoBase(const FifoBase&) = delete;
    FifoBase& operator=(const FifoBase&) = delete;
    virtual ~FifoBase() {}
    virtual int size() const = 0;
    const std::string& name() const { return name_; }
    int depth() const { return depth_; }

   private:
    std::string name_;
    int depth_;
};

enum class Op { READ, WRITE };

// The running region of a process thread (none on the caller's thread).
struct ProcessSlot {
    Region* region;
    int index;
};

inline ProcessSlot& this_process() {
    thread_local ProcessSlot slot = {nullptr, -1};
    return slot;
}

class Region {
   public:
    explicit Region(const char* name) : name_(name) {}
    Region(const Region&) = delete;
    Region& operator=(const Region&) = delete;
    ~Region() {
        for (std::thread& t : threads_) {
            if (t.joinable()) t.join();
        }
    }

    // Add a process: `text` (its call, as written) names it in reports.
    void spawn(const char* text, std::function<void()> body) {
        procs_.push_back(Proc{text, true, nullptr, Op::READ});
        bodies_.push_back(std::move(body));
    }

    // Run every process on its own thread (all are live before any can block) and wait for them; throws
    // Failure if the region deadlocked, a process failed, or a stream it used still holds data.
    void join() {
        live_ = static_cast<int>(procs_.size());
        for (std::size_t i = 0; i < bodies_.size(); ++i) {
            threads_.emplace_back([this, i] {
                this_process() = ProcessSlot{this, static_cast<int>(i)};
                std::string error;
                try {
                    bodies_[i]();
                } catch (const std::exception& e) {
                    error = e.what();
                }
                finish(static_cast<int>(i), error);
            });
        }
        for (std::thread& t : threads_) t.join();
        threads_.clear();
        if (!failure_.empty()) throw Failure(failure_);
        std::ostringstream left;
        for (const FifoBase* f : fifos_) {
            if (f->size() > 0) left << " '" << f->name() << "' (" << f->size() << " items)";
        }
        if (!left.str().empty()) {
            throw Failure("dataflow region '" + name_ + "' ended with data left in its streams:" + left.str());
        }
    }

    // Block the calling process until `op` on `fifo` can proceed (the caller holds `lock` on mutex()).
    void await(std::unique_lock<std::mutex>& lock, const FifoBase& fifo, Op op) {
        const int me = this_process().index;
        fifos_.insert(&fifo);
        while (!ready(fifo, op)) {
            if (!failure_.empty()) throw Failure("dataflow region '" + name_ + "' stopped");
            procs_[me].fifo = &fifo;
            procs_[me].op = op;
            if (all_blocked()) {
                fail(deadlock_report());
                procs_[me].fifo = nullptr;
                throw Failure(failure_);
            }
            if (ready_waiter()) changed_.notify_all();  // before sleeping: wake whoever this process held back
            ++waiting_;
            changed_.wait(lock);
            --waiting_;
            procs_[me].fifo = nullptr;
        }
    }

    // A read or write changed `fifo`. A process waiting on it is woken once it can move half a FIFO (a writer
    // once half the FIFO is free, a reader once it is half full), not item by item; a waiter left ready is
    // woken when this process waits or finishes, so no wake-up is lost and the deadlock test stays exact.
    void notify(const FifoBase& fifo) {
        if (waiting_ == 0) return;
        const int half = fifo.depth() > 1 ? fifo.depth() / 2 : 1;
        const int movable = fifo.depth() - fifo.size();
        for (const Proc& p : procs_) {
            if (p.fifo == &fifo && (p.op == Op::READ ? fifo.size() >= half : movable >= half)) {
                changed_.notify_all();
                return;
            }
        }
    }

    std::mutex& mutex() { return mutex_; }

   private:
    struct Proc {
        std::string text;
        bool live;
        const FifoBase* fifo;  // the FIFO it waits on (nullptr: running)
        Op op;
    };

    static bool ready(const FifoBase& f, Op op) { return op == Op::READ ? f.size() > 0 : f.size() < f.depth(); }

    bool ready_waiter() const {
        for (const Proc& p : procs_) {
            if (p.live && p.fifo != nullptr && ready(*p.fifo, p.op)) return true;
        }
        return false;
    }

    // Every live process waits on a FIFO that still cannot serve it (under the lock, so no wake-up is pending).
    bool all_blocked() const {
        for (const Proc& p : procs_) {
            if (p.live && (p.fifo == nullptr || ready(*p.fifo, p.op))) return false;
        }
        return true;
    }

    std::string deadlock_report() const {
        std::ostringstream out;
        out << "dataflow region '" << name_ << "' deadlocked:";
        const char* sep = " ";
        for (const Proc& p : procs_) {
            if (!p.live) continue;
            out << sep << p.text << " waits to " << (p.op == Op::READ ? "read empty" : "write full") << " stream '"
                << p.fifo->name() << "' (depth " << p.fifo->depth() << ")";
            sep = "; ";
        }
        out << "; finished:";
        sep = " ";
        for (const Proc& p : procs_) {
            if (!p.live) {
                out << sep << p.text;
                sep = ", ";
            }
        }
        if (*sep == ' ') out << " none";
        return out.str();
    }

    void fail(const std::string& why) {
        if (failure_.empty()) failure_ = why;
        changed_.notify_all();
    }

    void finish(int index, const std::string& error) {
        std::lock_guard<std::mutex> lock(mutex_);
        procs_[index].live = false;
        --live_;
        if (!error.empty()) {
            fail(error);
        } else if (live_ > 0 && all_blocked()) {
            fail(deadlock_report());
        } else {
            changed_.notify_all();
        }
    }

    std::string name_;
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<Proc> procs_;
    std::vector<std::function<void()> > bodies_;
    std::vector<std::thread> threads_;
    std::set<const FifoBase*> fifos_;
    std::string failure_;
    int live_ = 0;
    int waiting_ = 0;
};

// A bounded FIFO of `depth` items between the processes of one region.
template <class T>
class Fifo : public FifoBase {
   public:
    explicit Fifo(const char* name, int depth = VITIS_DEFAULT_DEPTH) : FifoBase(name, depth) {}

    void write(const T& v) {
        Region& r = region("write");
        std::unique_lock<std::mutex> lock(r.mutex());
        r.await(lock, *this, Op::WRITE);
        items_.push_back(v);
        r.notify(*this);
    }

    T read() {
        Region& r = region("read");
        std::unique_lock<std::mutex> lock(r.mutex());
        r.await(lock, *this, Op::READ);
        T v = items_.front();
        items_.pop_front();
        r.notify(*this);
        return v;
    }

    void read(T& v) { v = read(); }

    int size() const override { return static_cast<int>(items_.size()); }

   private:
    Region& region(const char* op) const {
        Region* r = this_process().region;
        if (r == nullptr) throw Failure("stream '" + name() + "': " + op + " outside a DATAFLOW process");
        return *r;
    }

    std::deque<T> items_;
};

}  // namespace dataflow

template <class T>
using stream = dataflow::Fifo<T>;

}  // namespace accel

#define ACCEL_FIFO(name, depth) name, depth
#define ACCEL_DATAFLOW(name) ::accel::dataflow::Region accel_dataflow_region(name);
#define ACCEL_PROCESS(...) accel_dataflow_region.spawn(#__VA_ARGS__, [&] { __VA_ARGS__; })
#define ACCEL_DATAFLOW_END() accel_dataflow_region.join();

#else  // what Vitis HLS sees: hls::stream and plain calls

namespace accel {

template <class T>
using stream = hls::stream<T>;

}  // namespace accel

#define ACCEL_FIFO(name, depth) name
#define ACCEL_DATAFLOW(name)
#define ACCEL_PROCESS(...) __VA_ARGS__
#define ACCEL_DATAFLOW_END()

#endif

#endif  // ACCELGEN_DATAFLOW_SIM_H
