"""release_free_memory gives freed heap back to the system: RSS falls after a burst's objects are gone
even though a few survivors pin pages all over the heap (glibc would keep them all by itself)."""
import threading

import psutil

from services.memory import release_free_memory


def test_freed_memory_goes_back_to_the_system():
    process = psutil.Process()
    survivors = []

    def burst():                        # on a thread, in its own malloc arena, as a socket loop worker's
        objects = [bytes(1000) + str(i).encode() for i in range(150_000)]
        survivors.extend(objects[::50])     # one in fifty stays: the heap cannot shrink from its top
        del objects

    worker = threading.Thread(target=burst)
    worker.start()
    worker.join()
    freed_but_held = process.memory_info().rss
    assert release_free_memory()
    assert freed_but_held - process.memory_info().rss > 80 * 2**20     # of ~150 MB freed
    assert len(survivors) == 3000
