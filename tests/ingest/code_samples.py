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

CSHARP = """using System;

namespace Shop
{
    /// <summary>A cart.</summary>
    public class Cart
    {
        private int count;

        public Cart(int count)
        {
            this.count = count;
        }

        [Obsolete]
        public int Total()
        {
            return count * 2;
        }

        public int Count { get; set; }
    }

    public interface IStore { void Save(); }

    public enum Color { Red, Green }

    public struct Point { public int X; }

    public record Person(string Name);
}
"""

KOTLIN = """package demo

import kotlin.math.abs

/** A cart. */
class Cart(val items: MutableList<Int>) {
    fun add(item: Int) {
        items.add(item)
    }

    companion object {
        fun empty() = Cart(mutableListOf())
    }
}

interface Store {
    fun save()
}

object Registry {
    val names = listOf("a")
}

enum class Color { RED, GREEN }

fun main() {
    println(abs(-1))
}

typealias Items = List<Int>
"""

SCALA = """package demo

import scala.math.abs

/** A cart. */
class Cart(items: List[Int]) {
  def add(item: Int): Cart = new Cart(item :: items)

  val size: Int = items.length
}

object Cart {
  def empty: Cart = new Cart(Nil)
}

trait Store {
  def save(): Unit
}

case class Point(x: Int, y: Int)

enum Color:
  case Red, Green

type Items = List[Int]

def helper(): Int = abs(-1)
"""

SWIFT = """import Foundation

/// A cart.
public class Cart {
    var items: [Int] = []

    init(items: [Int]) {
        self.items = items
    }

    func add(_ item: Int) {
        items.append(item)
    }
}

struct Point {
    var x: Int
}

extension Point: Equatable {
    static func == (a: Point, b: Point) -> Bool { a.x == b.x }
}

protocol Store {
    func save()
}

enum Color {
    case red, green
}

func helper() -> Int {
    return abs(-1)
}

typealias Items = [Int]
"""

PHP = """<?php

namespace Shop;

use Countable;

/** A cart. */
class Cart implements Countable
{
    private array $items = [];

    public function add(int $item): void
    {
        $this->items[] = $item;
    }

    public function count(): int
    {
        return count($this->items);
    }
}

interface Store
{
    public function save(): void;
}

trait Greets
{
    public function hello() { return "hi"; }
}

enum Color { case Red; }

function helper(): int
{
    return abs(-1);
}
"""

ELIXIR = """defmodule Shop.Cart do
  @moduledoc "A cart."

  defstruct items: []

  @doc "Adds an item."
  def add(cart, item) do
    %{cart | items: [item | cart.items]}
  end

  defp total(cart), do: Enum.sum(cart.items)

  defmacro empty do
    quote do: %Shop.Cart{}
  end

  defprotocol Size do
    def size(x)
  end
end

defimpl Shop.Cart.Size, for: List do
  def size(x), do: length(x)
end
"""

HASKELL = """module Shop where

import Data.List (sort)

-- | A cart.
data Cart = Cart { items :: [Int] }

-- | Adds an item.
add :: Int -> Cart -> Cart
add item cart = cart { items = item : items cart }

total :: Cart -> Int
total = sum . items

class Store a where
  save :: a -> IO ()

instance Show Cart where
  show c = show (items c)

type Items = [Int]

newtype Name = Name String
"""

LUA = """local M = {}

-- Adds an item.
function M.add(cart, item)
  table.insert(cart.items, item)
end

local function total(cart)
  local sum = 0
  for _, v in ipairs(cart.items) do sum = sum + v end
  return sum
end

function M:size()
  return #self.items
end

M.helper = function()
  return 1
end

return M
"""

ZIG = """const std = @import("std");

/// A cart.
pub const Cart = struct {
    items: []u32,

    pub fn add(self: *Cart, item: u32) void {
        _ = item;
        _ = self;
    }

    pub fn total(self: Cart) u32 {
        return @intCast(self.items.len);
    }
};

const Color = enum { red, green };

pub fn main() void {
    std.debug.print("hi", .{});
}

test "cart" {
    try std.testing.expect(true);
}
"""

BASH = """#!/bin/bash
set -euo pipefail

# Prints a greeting.
greet() {
  echo "hi $1"
}

function cleanup {
  rm -rf "$TMP"
}

trap cleanup EXIT
greet world
"""

DART = """import 'dart:math';

/// A cart.
class Cart {
  final List<int> items;

  Cart(this.items);

  void add(int item) {
    items.add(item);
  }

  int get size => items.length;
}

mixin Greets {
  String hello() => 'hi';
}

extension CartX on Cart {
  bool get isEmpty => items.isEmpty;
}

enum Color { red, green }

int helper() {
  return max(1, 2);
}

typedef Items = List<int>;
"""
