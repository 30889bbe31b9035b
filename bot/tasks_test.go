package bot

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestTasksDrainWaits(t *testing.T) {
	tasks := NewTasks(zerolog.Nop())
	var finished atomic.Bool
	release := make(chan struct{})
	tasks.Go(time.Minute, func(ctx context.Context) {
		<-release
		finished.Store(true)
	})
	drained := make(chan error, 1)
	go func() { drained <- tasks.Drain(context.Background()) }()
	select {
	case err := <-drained:
		t.Fatalf("Drain returned (%v) while a task was running", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	if err := <-drained; err != nil {
		t.Fatalf("Drain: %v", err)
	}
	if !finished.Load() {
		t.Error("Drain returned before the task finished")
	}
	if tasks.Go(time.Second, func(context.Context) {}) {
		t.Error("Go after Drain = true, want refused")
	}
}

func TestTasksDrainCancelsOnDeadline(t *testing.T) {
	tasks := NewTasks(zerolog.Nop())
	var cancelled atomic.Bool
	tasks.Go(time.Hour, func(ctx context.Context) {
		<-ctx.Done()
		cancelled.Store(true)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := tasks.Drain(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Drain = %v, want DeadlineExceeded", err)
	}
	if !cancelled.Load() {
		t.Error("the task's context was not cancelled when Drain gave up")
	}
}

func TestTasksOwnDeadline(t *testing.T) {
	tasks := NewTasks(zerolog.Nop())
	got := make(chan time.Duration, 1)
	tasks.Go(20*time.Millisecond, func(ctx context.Context) {
		start := time.Now()
		<-ctx.Done()
		got <- time.Since(start)
	})
	if d := <-got; d > time.Second {
		t.Errorf("task ran %v past its 20ms timeout", d)
	}
	tasks.Drain(context.Background())
}

func TestTasksPanicIsContained(t *testing.T) {
	tasks := NewTasks(zerolog.Nop())
	tasks.Go(time.Second, func(context.Context) { panic("boom") })
	if err := tasks.Drain(context.Background()); err != nil {
		t.Fatalf("Drain after a panicking task: %v", err)
	}
}

// waitFor polls cond until it holds, failing the test after a while.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

// TestTasksReuseGoroutines: a goroutine that finished its task takes the next one; at
// most maxIdleWorkers wait; a panicking task does not lose its goroutine; Drain lets
// the waiting ones go.
func TestTasksReuseGoroutines(t *testing.T) {
	tasks := NewTasks(zerolog.Nop())
	tasks.Go(time.Minute, func(context.Context) {})
	waitFor(t, "the first task's goroutine waits for another", func() bool { return tasks.idle.Load() == 1 })
	ran := make(chan struct{})
	tasks.Go(time.Minute, func(context.Context) {
		if tasks.idle.Load() != 0 {
			t.Error("a second goroutine ran the task while one was waiting")
		}
		close(ran)
	})
	<-ran
	waitFor(t, "the goroutine waits again", func() bool { return tasks.idle.Load() == 1 })

	tasks.Go(time.Minute, func(context.Context) { panic("boom") })
	waitFor(t, "the goroutine waits after a panic", func() bool { return tasks.idle.Load() == 1 && tasks.Running() == 0 })

	release := make(chan struct{})
	for range 2 * maxIdleWorkers {
		tasks.Go(time.Minute, func(context.Context) { <-release })
	}
	close(release)
	waitFor(t, "every task finished", func() bool { return tasks.Running() == 0 })
	waitFor(t, "at most maxIdleWorkers wait", func() bool { return tasks.idle.Load() == maxIdleWorkers })

	if err := tasks.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "Drain lets the waiting goroutines go", func() bool { return tasks.idle.Load() == 0 })
	if tasks.Go(time.Minute, func(context.Context) {}) {
		t.Error("Go ran a task after Drain")
	}
}
