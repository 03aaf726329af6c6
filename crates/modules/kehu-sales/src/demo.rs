//! The demo company's sales opportunities (`kehu demo --opportunities N`). (Being written.)
