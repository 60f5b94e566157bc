"""Small source files, one per language, for the syntax-aware chunker's tests."""

PYTHON = '''import os


class Router:
    """Routes requests."""

    def add_route(self, path, handler):
        self.routes.append((path, handler))
        return handler

    @property
    def size(self):
        return len(self.routes)


def helper():
    return os.getcwd()
'''

JAVASCRIPT = """import { x } from "./x.js";

// Registers a user.
export function registerUser(name) {
  return { name };
}

class Store {
  getUser(id) {
    return this.users[id];
  }
}

const makeId = () => {
  return x + 1;
};
"""

TYPESCRIPT = """interface User {
  id: number;
}

export class UserService {
  findUser(id: number): User {
    return { id };
  }
}

type Id = number;
"""

GO = """package main

import "fmt"

// Server serves.
type Server struct {
	Addr string
}

// Start starts the server.
func (s *Server) Start() error {
	fmt.Println(s.Addr)
	return nil
}

func main() {
	s := &Server{}
	s.Start()
}
"""

RUST = """use std::fmt;

/// A point.
#[derive(Debug)]
pub struct Point {
    x: i32,
}

impl Point {
    pub fn new(x: i32) -> Self {
        Point { x }
    }

    fn norm(&self) -> i32 {
        self.x.abs()
    }
}

fn main() {
    println!("{:?}", Point::new(1));
}
"""

JAVA = """package demo;

public class Greeter {
    private final String name;

    public Greeter(String name) {
        this.name = name;
    }

    public String greet() {
        return "hi " + name;
    }
}
"""

RUBY = """module Shop
  class Cart
    def add_item(item)
      @items << item
    end

    def total
      @items.sum(&:price)
    end
  end
end
"""

C = """#include <stdio.h>

struct point {
    int x;
};

static int square(int v) {
    return v * v;
}

int main(void) {
    printf("%d", square(2));
    return 0;
}
"""

CPP = """#include <string>

namespace app {

class Greeter {
 public:
  std::string greet() const { return "hi"; }
};

int add(int a, int b) {
  return a + b;
}

}  // namespace app
"""
