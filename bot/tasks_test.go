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
