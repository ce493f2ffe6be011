import threading
import unittest

from occo.util.cancel import Cancellation


class CancellationTest(unittest.TestCase):
    def test_cancel_runs_each_callback_once_and_later_subscribers_at_once(self):
        token = Cancellation()
        calls = []
        token.on_cancel(lambda: calls.append("first"))
        self.assertFalse(token.cancelled)
        token.cancel()
        token.cancel()
        self.assertTrue(token.cancelled)
        token.on_cancel(lambda: calls.append("late"))
        self.assertEqual(calls, ["first", "late"])

    def test_an_unsubscribed_callback_is_not_called(self):
        token = Cancellation()
        calls = []
        unsubscribe = token.on_cancel(lambda: calls.append("gone"))
        unsubscribe()
        token.cancel()
        self.assertEqual(calls, [])

    def test_a_child_follows_its_parent_but_not_the_other_way(self):
        parent = Cancellation()
        with parent.child() as first, parent.child() as second:
            first.cancel()
            self.assertTrue(first.cancelled)
            self.assertFalse(parent.cancelled or second.cancelled)
            parent.cancel()
            self.assertTrue(second.cancelled)

    def test_a_child_stops_following_its_parent_after_its_block(self):
        parent = Cancellation()
        with parent.child() as child:
            pass
        self.assertEqual(parent._callbacks, {})      # a long-lived parent keeps no children
        parent.cancel()
        self.assertFalse(child.cancelled)

    def test_wait_returns_when_another_thread_cancels(self):
        token = Cancellation()
        waiting = threading.Event()

        def cancel_once_waited():
            waiting.wait()
            token.cancel()
        thread = threading.Thread(target=cancel_once_waited)
        thread.start()
        waiting.set()
        self.assertTrue(token.wait(60))
        thread.join()
        self.assertFalse(Cancellation().wait(0))

    def test_a_callback_may_cancel_the_same_token_again(self):
        token = Cancellation()
        token.on_cancel(token.cancel)       # a signal handler re-entering cancel() in one thread
        token.cancel()
        self.assertTrue(token.cancelled)


if __name__ == "__main__":
    unittest.main()
